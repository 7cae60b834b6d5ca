"""The public help centre: search the knowledge base in Polish, English or Russian, read an
article, and an embeddable search widget for any site. No sign-in: it serves customers.

- ``/help``: the search box, the answers (an article in another language when the asker's has
  none, saying so) and the articles by kind;
- ``/help/articles/{id}``: one article in the visitor's language, or the best one there is;
- ``/help/search.json`` and ``/help/widget.js``: the widget (``<div data-cxm-help></div>`` and
  ``<script src="https://cxm.example.com/help/widget.js" async></script>`` on any page) asks
  the JSON endpoint, which answers any origin (the knowledge base is public).

Every search and every article opened is logged as an event of the ``help-centre`` source
(``Help Searched``, ``Article Viewed``) with an anonymous visitor id (a cookie here, the
widget's own id on other sites), so self-service shows on the customer's timeline once the
visitor is linked, and feeds the content-gap and deflection reports (``cxm.kb.insights``).
"""

from __future__ import annotations

import re
import secrets
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse

from cxm.errors import CxmError, NotFound
from cxm.kb.articles import KINDS, LANGUAGES, get_article, list_articles
from cxm.kb.search import search_kb
from cxm.kb.service import SEARCHED, VIEWED, record_help_event, search_properties
from cxm.web.rendering import render_template
from cxm.web.viewer import SECURITY_HEADERS, workspace_of

router = APIRouter(include_in_schema=False)
VISITOR_COOKIE = "cxm_help"
_VISITOR = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
WIDGET = Path(__file__).parent / "static" / "help-widget.js"

# The help centre's own words, in the three languages it serves customers in (the dashboard's
# catalogues have no Russian); templates call them ``ht(key)``.
TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "title": "Help centre", "lead": "Answers to what customers ask most, in your language.",
        "search": "Search", "placeholder": "Describe your problem…",
        "results": "Answers for “{q}”", "none": "Nothing found. Try other words, or contact us.",
        "fallback": "Not yet in English: shown in {language}.",
        "all": "All articles", "back": "← Help centre", "video": "Watch the video",
        "kind.faq": "Questions", "kind.qa": "Answers", "kind.guide": "Guides",
        "kind.video": "Videos", "lang.pl": "Polish", "lang.en": "English",
        "lang.ru": "Russian", "missing": "No such article.", "languages": "Also in:",
    },
    "pl": {
        "title": "Centrum pomocy", "lead": "Odpowiedzi na najczęstsze pytania, w Twoim języku.",
        "search": "Szukaj", "placeholder": "Opisz swój problem…",
        "results": "Odpowiedzi na „{q}”", "none": "Nic nie znaleziono. Spróbuj innych słów "
        "albo skontaktuj się z nami.",
        "fallback": "Jeszcze nie po polsku: pokazujemy wersję: {language}.",
        "all": "Wszystkie artykuły", "back": "← Centrum pomocy", "video": "Obejrzyj film",
        "kind.faq": "Pytania", "kind.qa": "Odpowiedzi", "kind.guide": "Poradniki",
        "kind.video": "Filmy", "lang.pl": "polski", "lang.en": "angielski",
        "lang.ru": "rosyjski", "missing": "Nie ma takiego artykułu.", "languages": "Także:",
    },
    "ru": {
        "title": "Центр помощи", "lead": "Ответы на самые частые вопросы на вашем языке.",
        "search": "Найти", "placeholder": "Опишите вашу проблему…",
        "results": "Ответы на «{q}»", "none": "Ничего не найдено. Попробуйте другие слова "
        "или свяжитесь с нами.",
        "fallback": "Пока нет на русском: показана версия на языке: {language}.",
        "all": "Все статьи", "back": "← Центр помощи", "video": "Смотреть видео",
        "kind.faq": "Вопросы", "kind.qa": "Ответы", "kind.guide": "Инструкции",
        "kind.video": "Видео", "lang.pl": "польский", "lang.en": "английский",
        "lang.ru": "русский", "missing": "Такой статьи нет.", "languages": "Также:",
    },
}  # fmt: skip


def _language(request: Request, lang: str) -> str:
    if lang in LANGUAGES:
        return lang
    header = request.headers.get("accept-language", "")
    for part in header.split(","):
        code = part.split(";")[0].strip()[:2].lower()
        if code in LANGUAGES:
            return code
    return workspace_of(request).settings.ui_language if workspace_of(
        request).settings.ui_language in LANGUAGES else "en"  # fmt: skip


def _t(language: str) -> Any:
    texts = TEXTS[language]

    def t(key: str, **values: Any) -> str:
        return texts[key].format(**values) if values else texts[key]

    return t


def _visitor(request: Request) -> tuple[str, bool]:
    """The visitor id from the cookie, or a new one (True: set the cookie)."""
    known = request.cookies.get(VISITOR_COOKIE, "")
    if _VISITOR.match(known):
        return known, False
    return "hc-" + secrets.token_urlsafe(12), True


def _page(request: Request, template: str, context: dict[str, Any], status: int = 200,
          visitor: tuple[str, bool] | None = None) -> HTMLResponse:  # fmt: skip
    html = render_template(template, context)
    response = HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)
    if visitor is not None and visitor[1]:
        response.set_cookie(VISITOR_COOKIE, visitor[0], max_age=365 * 86400, httponly=True,
                            samesite="lax", secure=request.url.scheme == "https")  # fmt: skip
    return response


@router.get("/help", response_class=HTMLResponse)
def help_centre(request: Request, q: str = "", lang: str = "") -> Response:
    ws = workspace_of(request)
    language = _language(request, lang)
    t = _t(language)
    visitor = _visitor(request)
    question = q.strip()[:500]
    hits: list[Any] = []
    problem = None
    with ws.session() as s:
        articles = list_articles(s)
        if question:
            try:
                hits = search_kb(s, question, default_language=language, limit=5)
            except CxmError as exc:
                problem = exc.message
    if question and problem is None:
        asked = (hits[0].asked_language if hits else None) or language
        properties = search_properties(question, asked, hits)
        record_help_event(ws, visitor=visitor[0], event=SEARCHED, properties=properties)
    by_kind = {kind: [a for a in articles if a.kind == kind] for kind in KINDS}
    context = {
        "lang": language, "ht": t, "languages": LANGUAGES, "q": question, "hits": hits,
        "problem": problem, "by_kind": by_kind, "title_in": _title_in(language),
    }  # fmt: skip
    return _page(request, "help.html", context, visitor=visitor)


@router.get("/help/articles/{article_id}", response_class=HTMLResponse)
def help_article(request: Request, article_id: str, lang: str = "", q: str = "") -> Response:
    ws = workspace_of(request)
    language = _language(request, lang)
    t = _t(language)
    visitor = _visitor(request)
    try:
        with ws.session() as s:
            article = get_article(s, article_id)
    except NotFound:
        context = {"lang": language, "ht": t, "languages": LANGUAGES, "message": t("missing")}
        return _page(request, "help_missing.html", context, status=404)
    shown = language if language in article.versions else article.languages[0]
    version = article.versions[shown]
    record_help_event(ws, visitor=visitor[0], event=VIEWED, properties={
        "article": article.id, "language": shown, "asked_language": language,
        "version": version.version, "from_search": bool(q)})  # fmt: skip
    context = {
        "lang": language, "ht": t, "languages": LANGUAGES, "a": article, "v": version,
        "shown": shown, "fallback": shown != language, "body_html": version.html(),
    }  # fmt: skip
    return _page(request, "help_article.html", context, visitor=visitor)


@router.get("/help/search.json")
def help_search_json(request: Request, q: str = "", lang: str = "", visitor: str = "") -> Response:
    """The widget's search: JSON, for any origin; ``visitor`` is the widget's own id."""
    ws = workspace_of(request)
    cors = {"Access-Control-Allow-Origin": "*", "Cache-Control": "no-store"}
    language = _language(request, lang)
    question = q.strip()
    if not _VISITOR.match(visitor):
        visitor = "hc-" + secrets.token_urlsafe(12)
    try:
        with ws.session() as s:
            hits = search_kb(s, question, default_language=language, limit=5)
    except CxmError as exc:
        return JSONResponse({"ok": False, "message": exc.message}, status_code=400,
                            headers=cors)  # fmt: skip
    asked = hits[0].asked_language if hits else None
    record_help_event(ws, visitor=visitor, event=SEARCHED,
                      properties=search_properties(question, asked or language, hits))  # fmt: skip
    base = str(request.base_url).rstrip("/")
    return JSONResponse({
        "ok": True,
        "results": [{
            "article": h.article, "title": h.title, "snippet": h.snippet, "language": h.language,
            "fallback": h.fallback,
            "url": f"{base}/help/articles/{h.article}?lang={language}&q=1",
        } for h in hits],
        "fallback_note": {lang_: TEXTS[language]["fallback"].format(
            language=TEXTS[language][f"lang.{lang_}"]) for lang_ in LANGUAGES},
    }, headers=cors)  # fmt: skip


@router.get("/help/widget.js")
def help_widget() -> Response:
    return Response(WIDGET.read_text(), media_type="text/javascript",
                    headers={"Cache-Control": "public, max-age=3600",
                             "Access-Control-Allow-Origin": "*"})  # fmt: skip


def _title_in(language: str) -> Any:
    def title(article: Any) -> str:
        version = article.versions.get(language) or next(iter(article.versions.values()))
        return str(version.title)

    return title
