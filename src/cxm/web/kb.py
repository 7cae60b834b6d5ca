"""The Self-service page: the knowledge base's articles with their languages and views, the
help-centre searches nobody found an answer to, untranslated articles, and deflection with
its interval (``cxm.kb``). The public help centre itself is ``cxm.web.help_centre``."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

from cxm.kb.articles import LANGUAGES, list_articles
from cxm.kb.insights import article_views, content_gaps, deflection
from cxm.store.metadata import utcnow
from cxm.web.viewer import SignedIn, render_page, workspace_of

router = APIRouter(include_in_schema=False)


@router.get("/kb", response_class=HTMLResponse)
def kb_page(request: Request, viewer: SignedIn, days: int = 90) -> Response:
    days = max(7, min(days, 730))
    end = utcnow() + timedelta(days=1)
    start = end - timedelta(days=days + 1)
    with workspace_of(request).session() as s:
        articles = list_articles(s)
        views = article_views(s, start=start, end=end)
        gaps = content_gaps(s, start=start, end=end, limit=15)
        report = deflection(s, start=start, end=end)
    context = {
        "articles": sorted(articles, key=lambda a: -views.get(a.id, 0)),
        "views": views,
        "languages": LANGUAGES,
        "gaps": gaps,
        "d": report,
        "days": days,
    }
    return render_page(request, "kb.html", context, viewer=viewer, active="kb")
