"""The web templates rendered with real read-model dataclasses, in English and Polish."""

from __future__ import annotations

import html
import json
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from cxm.auth import ApiPrincipal
from cxm.config import CHANNELS
from cxm.ingest import RecentEvent, SourceActivity
from cxm.profiles.models import (
    ChannelUse,
    Identifier,
    KnownFact,
    Merge,
    Overview,
    Profile,
    ProfileCard,
    TimelineItem,
    Trait,
    TraitObservation,
    WhatWeKnow,
)
from cxm.web import pages, render_template, templates_env
from cxm.web.charts import CHANNEL_COLORS
from cxm.web.i18n import translator
from cxm.web.rendering import NAV_KEYS, STATIC_DIR, page_context

T0 = datetime(2026, 10, 12, 9, 30, tzinfo=UTC)
UNSAFE = '<script>alert("x")</script> & <b>bold</b>'
CYRILLIC = "Добрий день, інтернет не працює з понеділка"
PRINCIPAL = ApiPrincipal(id=7, name="admin <ops>", scopes=("admin",))
CSRF = "csrf-abc_123"


def item(
    seq: int, channel: str, event: str | None, text: str | None, hours_ago: int
) -> TimelineItem:
    at = T0 - timedelta(hours=hours_ago)
    return TimelineItem(
        seq=seq, at=at, received_at=at, channel=channel, source=f"{channel}-source",
        type="track" if event else "identify", event=event, text=text,
        properties={"order_id": "ZAM/2026/0042"} if channel == "web" else {},
    )  # fmt: skip


TIMELINE = [
    item(120, "chat", "Chat Message", CYRILLIC, 1),
    item(118, "phone", "Call Ended", "Klientka zgłasza brak internetu od poniedziałku.", 5),
    item(117, "email", "Email Received", UNSAFE, 9),
    item(110, "field_service", "Technician Visit", "Wymieniono modem, sygnał OK.", 30),
    item(104, "branch", "Contract Signed", None, 80),
    item(101, "web", "Order Completed", None, 200),
    item(100, "web", None, None, 201),
]

PROFILE = Profile(
    id="p_01ania",
    display_name="Anna Wiśniewska-Kowalczyk",
    email="anna.wisniewska@example.pl",
    phone="+48601234567",
    created_at=T0 - timedelta(days=400),
    first_seen=T0 - timedelta(days=390),
    last_seen=T0 - timedelta(hours=1),
    event_count=1234,
    identifiers=[
        Identifier("email", "anna.wisniewska@example.pl", "web-source", T0 - timedelta(days=390)),
        Identifier("phone", "+48601234567", "phone-source", T0 - timedelta(days=200)),
        Identifier("crm_id", "CRM-0042", "crm", None),
    ],
    traits=[
        Trait(
            key="city",
            value="Łódź",
            source="branch-source",
            channel="branch",
            observed_at=T0 - timedelta(days=3),
            history=[
                TraitObservation("Łódź", "branch-source", "branch", T0 - timedelta(days=3), 104),
                TraitObservation("Kraków", "web-source", "web", T0 - timedelta(days=300), 12),
            ],
        ),
        Trait(
            key="plan",
            value={"name": "Fiber 600", "price": 79.99},
            source="crm",
            channel=None,
            observed_at=T0 - timedelta(days=30),
        ),
    ],  # fmt: skip
    merges=[
        Merge(
            at=T0 - timedelta(days=200),
            rule="phone",
            reason="same phone +48601234567 on a call",
            winner_id="p_01ania",
            loser_id="p_09call",
            seq=55,
            actor="identity",
        )
    ],  # fmt: skip
)

BRIEF = WhatWeKnow(
    headline="Fibre customer in Łódź; internet down since Monday, technician visited.",
    facts=[
        KnownFact("address", "ul. Piotrkowska 1, 90-001 Łódź", "phone-source", "phone", T0),
        KnownFact("email", "anna.wisniewska@example.pl", "web-source", "web", T0),
    ],
    recent_issues=[TIMELINE[1], TIMELINE[2]],
    channels=[
        ChannelUse("web", 2, T0 - timedelta(hours=200)),
        ChannelUse("chat", 1, T0 - timedelta(hours=1)),
        ChannelUse("phone", 1, T0 - timedelta(hours=5)),
        ChannelUse("field_service", 1, T0 - timedelta(hours=30)),
        ChannelUse("email", 1, T0 - timedelta(hours=9)),
        ChannelUse("branch", 1, T0 - timedelta(hours=80)),
    ],
    last_contact=TIMELINE[0],
)

CARD = ProfileCard(
    id=PROFILE.id, display_name=PROFILE.display_name, email=PROFILE.email, phone=PROFILE.phone,
    first_seen=PROFILE.first_seen, last_seen=PROFILE.last_seen, event_count=1234,
    channels=["chat", "phone", "field_service"],
)  # fmt: skip

OVERVIEW = Overview(
    profiles=12_345,
    events=678_901,
    sources=9,
    pending_events=42,
    by_channel=[("web", 400_000), ("phone", 200_000), ("field_service", 78_901)],
    weekly=[
        {"week": "2026-10-05", "channel": "web", "events": 120},
        {"week": "2026-10-05", "channel": "phone", "events": 40},
        {"week": "2026-09-28", "channel": "web", "events": 100},
        {"week": "2026-09-28", "channel": "field_service", "events": 7},
    ],
    recent=[CARD],
)


def render(template: str, lang: str = "en", *, principal: Any = PRINCIPAL, **context: Any) -> str:
    base = page_context(
        lang=lang, principal=principal, csrf_token=CSRF, active="customers", here="/x?y=1"
    )
    return render_template(template, {**base, **context})


def customer_page(lang: str = "en", page_size: int = 5, channel: str | None = None) -> str:
    page = pages.TimelinePage.from_fetch(TIMELINE[: page_size + 1], page_size)
    context = pages.customer_context(PROFILE, BRIEF, page, channel, translator(lang))
    return render("customer.html", lang, **context)


def chart_options(page: str) -> list[dict[str, Any]]:
    return [json.loads(html.unescape(raw)) for raw in re.findall(r"data-chart='([^']*)'", page)]


def test_environment_autoescapes_and_rejects_unknown_variables() -> None:
    env = templates_env()
    assert env.from_string("{{ x }}").render(x="<b>") == "&lt;b&gt;"
    with pytest.raises(Exception, match="undefined"):
        env.get_template("error.html").render({})


def test_customer_page_shows_the_profile_and_what_we_know() -> None:
    page = customer_page()
    assert "Anna Wiśniewska-Kowalczyk" in page
    assert "mailto:anna.wisniewska@example.pl" in page
    assert "What we already know" in page
    assert "Read this before asking the customer anything" in page
    assert "ul. Piotrkowska 1, 90-001 Łódź" in page
    assert "CRM-0042" in page and "CRM ID" in page
    assert "same phone +48601234567 on a call" in page
    assert "Same phone number" in page
    assert "Kraków" in page  # trait history
    assert "Fiber 600" in page  # a structured trait value shown as JSON
    assert "1,234" in page
    assert 'href="tel:+48601234567">+48 601 234 567</a>' in page


def test_customer_page_escapes_customer_text_and_keeps_cyrillic() -> None:
    page = customer_page()
    assert CYRILLIC in page
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;" in page
    assert "admin &lt;ops&gt;" in page


@pytest.mark.parametrize(
    ("lang", "labels"),
    [
        ("en", ["Field service", "Chat", "Phone", "E-mail", "Branch"]),
        ("pl", ["Serwis terenowy", "Czat", "Telefon", "E-mail", "Oddział"]),
    ],
)
def test_channel_labels_are_translated(lang: str, labels: list[str]) -> None:
    page = customer_page(lang)
    for label in labels:
        assert f'<span class="chip-dot"></span>{label}</span>' in page
    chart = chart_options(page)[0]
    assert set(labels) <= set(chart["yAxis"]["data"])


def test_customer_page_in_polish() -> None:
    page = customer_page("pl")
    assert '<html lang="pl">' in page
    assert "Co już wiemy" in page
    assert "Dlaczego to jedna osoba" in page
    assert "1\u00a0234" in page
    assert "Wczytaj starsze interakcje" in page


def test_customer_page_shows_the_effort_we_caused_only_with_a_matter() -> None:
    assert "data-effort" not in customer_page()
    page = pages.TimelinePage.from_fetch(TIMELINE[:6], 5)
    effort = {
        "effort": 8.63, "total_effort": 11.8, "decile": 10, "customers": 1234, "matters": 2,
        "repeat_contacts": 3, "channel_hops": 2, "handoffs": 2, "asked_again": 1, "reopened": 0,
    }  # fmt: skip
    for lang, words in (("en", "decile 10 of 10 among 1,234 customers"), ("pl", "decyl 10 z 10")):
        context = pages.customer_context(
            PROFILE, BRIEF, page, None, translator(lang), effort=effort
        )
        shown = render("customer.html", lang, **context)
        assert 'data-effort="8.63"' in shown and words in shown.replace("\u00a0", " ")


def test_timeline_is_newest_first_with_a_load_more_link_before_the_last_shown_seq() -> None:
    page = customer_page(page_size=5)
    seqs = [int(s) for s in re.findall(r'data-seq="(\d+)"', page)]
    assert seqs == [120, 118, 117, 110, 104]
    assert 'hx-get="/customers/p_01ania/timeline?before=104"' in page
    assert 'href="/customers/p_01ania?before=104#timeline"' in page


def test_load_more_keeps_the_channel_filter_and_disappears_on_the_last_page() -> None:
    page = pages.TimelinePage.from_fetch(TIMELINE[:3], 2)
    fragment = render("_timeline_items.html", **pages.timeline_context("p_01ania", page, "chat"))
    assert "/customers/p_01ania/timeline?before=118&amp;channel=chat" in fragment
    assert "<html" not in fragment
    last = pages.TimelinePage.from_fetch(TIMELINE[:2], 2)
    fragment = render("_timeline_items.html", **pages.timeline_context("p_01ania", last, None))
    assert "before=" not in fragment
    assert fragment.count('class="tl-item') == 2


def test_timeline_page_from_fetch() -> None:
    assert pages.TimelinePage.from_fetch([], 3) == pages.TimelinePage([], None)
    assert pages.TimelinePage.from_fetch(TIMELINE[:3], 3).next_before is None
    assert pages.TimelinePage.from_fetch(TIMELINE[:4], 3).next_before == 117


def test_empty_timeline_for_a_channel() -> None:
    empty = pages.TimelinePage([], None)
    fragment = render("_timeline_items.html", "pl", **pages.timeline_context("p_1", empty, "sms"))
    assert "Brak interakcji w kanale SMS." in fragment


@pytest.mark.parametrize("lang", ["en", "pl"])
def test_overview_page(lang: str) -> None:
    page = render("overview.html", lang, **pages.overview_context(OVERVIEW, translator(lang)))
    number = "12,345" if lang == "en" else "12\u00a0345"
    assert number in page
    assert "Anna Wiśniewska-Kowalczyk" in page
    assert 'href="/customers/p_01ania"' in page
    assert "/static/vendor/echarts.min.js" in page
    chart = chart_options(page)[0]
    assert chart["xAxis"]["data"] == ["2026-09-28", "2026-10-05"]
    names = [s["name"] for s in chart["series"]]
    field = "Field service" if lang == "en" else "Serwis terenowy"
    assert names[0] in ("Web", "Strona WWW") and field in names
    web = chart["series"][0]
    assert web["data"] == [100, 120] and web["itemStyle"]["color"] == CHANNEL_COLORS["web"]
    assert "Awaiting identity resolution" in page or "Oczekujące na identyfikację" in page


def test_customers_page_and_rows_partial() -> None:
    page = render("customers.html", **pages.customers_context([CARD], "anna"))
    assert 'hx-get="/customers"' in page and 'hx-target="#customer-rows"' in page
    assert 'value="anna"' in page
    rows = render("_customer_rows.html", **pages.customers_context([CARD], "anna"))
    assert rows.lstrip().startswith("<tr>") and "Anna Wiśniewska-Kowalczyk" in rows
    none = render("_customer_rows.html", "pl", **pages.customers_context([], "<img src=x>"))
    assert "Żaden klient nie pasuje do „&lt;img src=x&gt;”." in none


def test_customer_rows_show_at_most_four_channels() -> None:
    many = replace(CARD, channels=["web", "app", "email", "sms", "phone", "ivr"])
    rows = render("_customer_rows.html", "pl", **pages.customers_context([many], ""))
    assert rows.count('class="chip ch-') == 4
    assert 'title="Telefon, IVR">+2</span>' in rows


def test_base_layout_navigation_session_and_language_switch() -> None:
    page = render("customers.html", "pl", **pages.customers_context([], ""))
    assert page.count("wkrótce</span>") == 2  # privacy, settings
    assert 'aria-current="page"' in page and ">Klienci</span>" in page
    assert '<input type="hidden" name="csrf_token" value="csrf-abc_123">' in page
    headers = re.search(r"hx-headers:inherited='([^']*)'", page)
    assert headers and json.loads(html.unescape(headers.group(1))) == {"X-CSRF-Token": CSRF}
    assert 'href="/lang/en?next=/x%3Fy%3D1"' in page
    assert "https://" not in page and "http://" not in page


def test_login_page() -> None:
    page = render("login.html", principal=None, error="Bad <token>", next="/customers")
    assert 'action="/login"' in page and 'name="token"' in page
    assert 'value="csrf-abc_123"' in page and 'value="/customers"' in page
    assert "Bad &lt;token&gt;" in page
    assert "Sign out" not in page


@pytest.mark.parametrize("principal", [PRINCIPAL, None])
def test_error_page(principal: ApiPrincipal | None) -> None:
    page = render("error.html", "pl", principal=principal, **pages.error_context(404, None))
    assert "Nie znaleziono" in page and "404" in page
    assert ('class="btn btn-primary" href="/overview"' in page) == (principal is not None)


def test_every_nav_item_and_channel_has_a_label() -> None:
    for lang in ("en", "pl"):
        t = translator(lang)
        for key in [f"nav.{k}" for k in NAV_KEYS] + [f"channel.{c}" for c in CHANNELS]:
            assert t(key) != key, (lang, key)


def test_channel_colours_match_the_stylesheet() -> None:
    css = (STATIC_DIR / "cxm.css").read_text(encoding="utf-8")
    declared = dict(re.findall(r"--ch-([a-z_]+):\s*(#[0-9a-f]{6})", css))
    assert declared == CHANNEL_COLORS
    assert set(CHANNEL_COLORS) == set(CHANNELS)
    for channel in CHANNELS:
        assert f".ch-{channel}" in css


def test_vendored_assets_are_present() -> None:
    vendor = STATIC_DIR / "vendor"
    for name in ("echarts.min.js", "htmx.min.js", "echarts.LICENSE", "htmx.LICENSE", "README.md"):
        assert (vendor / name).is_file(), name


def activity(name: str, channel: str, events: int, last: datetime | None) -> SourceActivity:
    return SourceActivity(
        id=len(name), name=name, channel=channel, label=f"{name} <label>",
        write_key_prefix="wk_AbCdEfG", created_at=T0 - timedelta(days=30), disabled=False,
        events=events, last_received_at=last,
    )  # fmt: skip


def recent(seq: int, profile_id: str | None, **payload: Any) -> RecentEvent:
    return RecentEvent(
        seq=seq, source="website", channel="web", type="track", event="Order Completed",
        user_id="CUST-42", anonymous_id=None, timestamp=T0, received_at=T0 + timedelta(seconds=seq),
        payload={"type": "track", "properties": payload}, profile_id=profile_id,
    )  # fmt: skip


SHOWN = [recent(12, None, note=UNSAFE), recent(11, "p_01ania", plan="Fibre 600")]


def test_live_feed_continues_from_the_newest_seq_and_tracks_waiting_events() -> None:
    feed = pages.LiveFeed.start(None, SHOWN, head=20)
    assert feed == pages.LiveFeed(source=None, after=20, pending=(12,))
    assert feed.poll_url == "/sources/events?after=20&pending=12"
    newer = feed.advance([recent(25, None), recent(23, "p_x")], placed={12: "p_01ania"}, head=24)
    assert newer == pages.LiveFeed(source=None, after=25, pending=(25,))
    assert pages.LiveFeed.start("ivr", [], head=0).poll_url == "/sources/events?after=0&source=ivr"
    many = feed.advance([recent(100 + n, None) for n in range(80)], placed=())
    assert len(many.pending) == pages.LIVE_EVENTS_LIMIT and max(many.pending) == 179


@pytest.mark.parametrize("lang", ["en", "pl"])
def test_sources_page(lang: str) -> None:
    sources = [activity("website", "web", 1234, T0), activity("ivr", "ivr", 0, None)]
    feed = pages.LiveFeed.start(None, SHOWN, head=12)
    context = pages.sources_context(sources, SHOWN, feed, base_url="https://cx.example/")
    page = render("sources.html", lang, **context)
    assert 'href="/sources/import"' not in page  # only for a viewer who may write
    writer = pages.sources_context(sources, SHOWN, feed, base_url="/", can_write=True)
    assert 'href="/sources/import"' in render("sources.html", lang, **writer)
    assert "https://cx.example/v1/batch" in page and 'host="https://cx.example"' in page
    assert "wk_AbCdEfG…" in page and "website &lt;label&gt;" in page
    assert ("1,234" if lang == "en" else "1\u00a0234") in page
    assert ("Never" if lang == "en" else "Nigdy") in page
    assert ("2 sources" if lang == "en" else "2 źródła") in page
    assert 'hx-get="/sources/events?after=12&amp;pending=12" hx-trigger="every 3s"' in page
    assert page.count('class="live-item ch-web"') == 2 and "is-new" not in page
    assert 'href="/customers/p_01ania"' in page
    waiting = "Waiting for identity resolution" if lang == "en" else "Czeka na identyfikację"
    assert page.count(waiting) == 1
    assert (
        "&lt;script&gt;alert(\\&#34;x\\&#34;)&lt;/script&gt;" in page
        and "<script>alert" not in page
    )
    assert '<option value="ivr">ivr</option>' in page


def test_live_update_fragment_prepends_new_events_and_swaps_links_out_of_band() -> None:
    new, placed = [recent(13, None)], {12: "p_01ania"}
    feed = pages.LiveFeed(source="website", after=12, pending=(12,)).advance(new, placed)
    context = pages.live_update_context(new, placed, feed)
    fragment = render("_live_update.html", "pl", **context)
    assert "<html" not in fragment and fragment.count('class="live-item ch-web is-new"') == 1
    assert '<span class="live-who" id="ev-12-who" hx-swap-oob="true">' in fragment
    assert 'href="/customers/p_01ania"' in fragment
    assert '<div id="live-poll" hidden hx-swap-oob="true"' in fragment
    assert 'hx-get="/sources/events?after=13&amp;source=website&amp;pending=13"' in fragment
    assert "Czeka na identyfikację" in fragment


def test_customer_list_says_when_more_customers_match() -> None:
    rows = render("_customer_rows.html", **pages.customers_context([CARD], "", 1234))
    assert "Showing 1 of 1,234 customers" in rows
    polish = render("_customer_rows.html", "pl", **pages.customers_context([CARD], "", 1234))
    assert "Pokazano 1 z 1" in polish
    exact = render("_customer_rows.html", **pages.customers_context([CARD], "", 1))
    assert "Showing" not in exact
