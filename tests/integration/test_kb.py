"""The knowledge base and the help centre, on both stores: articles loaded from a file with
the bad ones refused (where and why) and the good kept, versions per language; search that
answers a question with an article in another language and says so; the public help centre
logging searches and views as events; content gaps from unanswered searches; deflection
checked against arithmetic done by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from cxm.ingest.tables import events, sources
from cxm.kb.articles import get_article, version_history
from cxm.kb.insights import content_gaps, deflection
from cxm.kb.search import search_kb
from cxm.kb.service import do_load_kb
from cxm.metrics.changes import compare_proportions
from cxm.workspace import Workspace
from helpers import bearer, journeys_for, sign_in

pytestmark = pytest.mark.anyio
DEMO_KB = Path(__file__).parents[2] / "src" / "cxm" / "demo" / "kb.yaml"

MIXED = """
articles:
  - id: good-one
    kind: faq
    versions:
      en: {title: Paying by card, body: "Pay by **card** in the app."}
  - id: bad-one
    kind: recipe
    versions:
      de: {title: Hallo, body: x}
      en:
        title: Broken
        body: |
          First line is fine.
          <script>alert(1)</script>
          See [the terms](javascript:alert(1)).
  - id: good-two
    versions:
      pl: {title: Płatność kartą, body: Zapłać kartą w aplikacji.}
"""


def test_a_file_is_loaded_the_bad_articles_refused_and_versions_kept(
    workspace: Workspace,
) -> None:
    with workspace.session() as s:
        report = do_load_kb(s, text=MIXED, actor="test")
    assert report.saved == ["good-one", "good-two"] and report.new_versions == 2
    said = {(".".join(map(str, p.loc)), p.message) for p in report.rejected}
    wheres = {w for w, _ in said}
    assert "articles[1] (bad-one).kind" in wheres
    assert "articles[1] (bad-one).versions.de" in wheres
    messages = " ".join(m for _, m in said)
    assert "line 2: raw HTML '<script>'" in messages and "line 3: link 'javascript" in messages

    changed = MIXED.replace("Pay by **card** in the app.", "Pay by card or BLIK in the app.")
    with workspace.session() as s:
        again = do_load_kb(s, text=changed, actor="test")
        article = get_article(s, "good-one")
        history = version_history(s, "good-one")
    assert again.new_versions == 1  # only the changed language
    assert article.versions["en"].version == 2 and "BLIK" in article.versions["en"].body
    assert [(v.language, v.version) for v in history] == [("en", 1), ("en", 2)]
    assert "<strong>" not in article.versions["en"].html()  # this version has no bold
    with workspace.session() as s, pytest.raises(Exception, match="not valid YAML"):
        do_load_kb(s, text="articles: [\n  - id: x\n   bad", actor="test")


def test_a_question_finds_the_article_in_another_language_and_says_so(
    workspace: Workspace,
) -> None:
    with workspace.session() as s:
        do_load_kb(s, text=DEMO_KB.read_text(), actor="test")
        roaming = search_kb(s, "будет ли работать телефон в отпуске в Испании")
        router = search_kb(s, "router się zawiesił, jak go wyłączyć i włączyć")
    assert roaming[0].article == "roaming"
    assert roaming[0].fallback and roaming[0].asked_language == "ru"
    assert roaming[0].language in ("en", "pl")
    assert router[0].article == "router-restart"
    assert router[0].language == "pl" and not router[0].fallback


async def test_the_help_centre_logs_searches_and_views_and_finds_the_gaps(
    workspace: Workspace, api: httpx.AsyncClient, admin_token: str
) -> None:
    with workspace.session() as s:
        do_load_kb(s, text=DEMO_KB.read_text(), actor="test")
    page = await api.get("/help", params={"q": "сколько стоит интернет за пределами Европы",
                                           "lang": "ru"})  # fmt: skip
    assert page.status_code == 200
    assert 'data-article="roaming"' in page.text and "Пока нет на русском" in page.text
    assert "cxm_help" in page.headers.get("set-cookie", "")
    article = await api.get("/help/articles/roaming", params={"lang": "ru", "q": "1"})
    assert article.status_code == 200 and 'id="hc-fallback"' in article.text
    unanswered = await api.get("/help", params={"q": "czy macie telewizję w pakiecie",
                                                "lang": "pl"})  # fmt: skip
    assert unanswered.status_code == 200
    widget = await api.get("/help/search.json", params={"q": "how do I restart my router",
                                                        "visitor": "widget-visitor-1"})  # fmt: skip
    assert widget.headers["access-control-allow-origin"] == "*"
    assert widget.json()["results"][0]["article"] == "router-restart"
    assert (await api.get("/help/widget.js")).headers["content-type"].startswith("text/javascript")
    assert (await api.get("/help/articles/nowhere")).status_code == 404
    assert (await api.get("/help/search.json", params={"q": " "})).status_code == 400

    with workspace.session() as s:
        logged = s.execute(
            select(events.c.event, events.c.anonymous_id)
            .join(sources, sources.c.id == events.c.source_id)
            .where(sources.c.name == "help-centre").order_by(events.c.seq)
        ).all()  # fmt: skip
        now = datetime.now(UTC)
        gaps = content_gaps(s, start=now - timedelta(days=1), end=now + timedelta(days=1))
    assert [e for e, _ in logged] == ["Help Searched", "Article Viewed", "Help Searched",
                                      "Help Searched"]  # fmt: skip
    assert logged[0][1] == logged[1][1] == logged[2][1]  # one visitor, by the cookie
    assert gaps["searches"] == 3 and gaps["answered"] == 1
    queries = {(g["language"], g["query"]) for g in gaps["gaps"]}
    assert ("pl", "czy macie telewizję w pakiecie") in queries
    assert {u["article"] for u in gaps["untranslated"]} == {"roaming", "opening-hours"}
    over_api = await api.get("/api/kb/gaps", headers=bearer(admin_token))
    assert over_api.json()["answered"] == 1
    await sign_in(api, admin_token)
    page = await api.get("/kb")
    assert page.status_code == 200
    assert "czy macie telewizję w pakiecie" in page.text and 'id="kb-untranslated"' in page.text
    assert 'data-article="roaming"' in page.text


async def test_articles_over_the_api_refuse_bad_input(
    workspace: Workspace, api: httpx.AsyncClient, admin_token: str
) -> None:
    auth = bearer(admin_token)
    created = await api.put(
        "/api/kb/articles/fees",
        headers=auth,
        json={
            "kind": "faq",
            "versions": {"en": {"title": "Fees", "body": "Paper invoice: 5 PLN."}},
        },
    )
    assert created.status_code == 201 and created.json()["new_versions"] == ["en"]
    broken = await api.put("/api/kb/articles/fees", headers=auth, json={
        "versions": {"en": {"title": "Fees", "body": "<b>bold</b>"}}})  # fmt: skip
    assert broken.status_code == 400
    assert broken.json()["errors"][0]["loc"] == ["versions", "en", "body"]
    mismatch = await api.put("/api/kb/articles/fees", headers=auth,
                             json={"id": "other", "versions": {}})  # fmt: skip
    assert mismatch.status_code == 400 and "address" in mismatch.json()["message"]
    kept = await api.get("/api/kb/articles/fees", headers=auth)
    assert kept.json()["article"]["versions"]["en"]["body"] == "Paper invoice: 5 PLN."
    found = await api.get("/api/kb/search", headers=auth, params={"q": "invoice fee"})
    assert found.json()["hits"][0]["article"] == "fees"
    assert (await api.delete("/api/kb/articles/fees", headers=auth)).status_code == 200
    assert (await api.get("/api/kb/search", headers=auth, params={"q": "fee"})).json()[
        "hits"] == []  # fmt: skip


def test_deflection_matches_arithmetic_done_by_hand(workspace: Workspace) -> None:
    """Four customers open an article, one of whom calls within a week (a second calls after
    ten days: too late to count); five search without opening one, three of whom call within
    a week. Deflection = 3/5 − 1/4 = 0.35."""
    day0 = datetime(2026, 5, 4, 10, tzinfo=UTC)

    def at(days: float) -> str:
        return (day0 + timedelta(days=days)).isoformat()

    def visit(opened: bool) -> list[dict[str, object]]:
        steps: list[dict[str, object]] = [
            {"event": "Help Searched", "at": at(0), "properties": {"query": "x", "language": "pl"}}
        ]
        if opened:
            steps.append(
                {"event": "Article Viewed", "at": at(0.01), "properties": {"article": "a"}}
            )
        return steps

    help_people = {f"s{i}": visit(True) for i in range(4)} | {
        f"n{i}": visit(False) for i in range(5)}  # fmt: skip
    journeys_for(workspace, help_people, source="help-centre")
    calls = {
        "s0": [{"event": "Call Started", "channel": "phone", "at": at(2)}],
        "s1": [{"event": "Call Started", "channel": "phone", "at": at(10)}],
        "n0": [{"event": "Call Started", "channel": "phone", "at": at(1)}],
        "n1": [{"event": "Chat Started", "channel": "chat", "at": at(3)}],
        "n2": [{"event": "Branch Visit", "channel": "branch", "at": at(6.5)}],
        "n3": [{"event": "Page Viewed", "channel": "web", "at": at(1)}],  # not a contact
    }
    journeys_for(workspace, calls, source="contacts")
    with workspace.session() as s:
        report = deflection(s, start=day0 - timedelta(days=1), end=day0 + timedelta(days=30))
    assert (report.self_served, report.self_served_contacted) == (4, 1)
    assert (report.comparison, report.comparison_contacted) == (5, 3)
    assert report.deflection == pytest.approx(0.35)
    expected = compare_proportions(1, 4, 3, 5)
    assert report.low == pytest.approx(round(expected.low, 4))
    assert report.high == pytest.approx(round(expected.high, 4))
    assert "observational" in report.note
