"""The Jinja2 environment of the web UI: autoescaping, filters, navigation and page context."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import phonenumbers
from jinja2 import Environment, FileSystemLoader, StrictUndefined, pass_context, select_autoescape
from jinja2.runtime import Context

from cxm import __version__
from cxm.config import CHANNELS
from cxm.web.charts import channel_color
from cxm.web.i18n import SUPPORTED, translator
from cxm.web.session import CSRF_FIELD, CSRF_HEADER

TEMPLATES_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"


@dataclass(frozen=True)
class NavItem:
    key: str  # the catalogue key is "nav.<key>"
    icon: str
    href: str | None  # None: a capability still to come, shown disabled
    active: bool = False


# (key, icon, href, the page level that opens it: cxm.web.viewer.LEVELS)
_NAV: tuple[tuple[str, str, str | None, str], ...] = (
    ("overview", "grid", "/overview", "dashboard"),
    ("metrics", "chart", "/metrics", "dashboard"),
    ("customers", "users", "/customers", "serving"),
    ("review", "link", "/review", "dashboard"),
    ("sources", "database", "/sources", "dashboard"),
    ("journey", "route", "/journey", "dashboard"),
    ("departments", "building", "/departments", "department"),
    ("surveys", "star", "/surveys", "dashboard"),
    ("text", "text", "/text", "dashboard"),
    ("cases", "inbox", "/cases", "serving"),
    ("kb", "search", "/kb", "dashboard"),
    ("consistency", "check", "/consistency", "dashboard"),
    ("insights", "bulb", "/insights", "dashboard"),
    ("automation", "bolt", "/automation", "dashboard"),
    ("privacy", "shield", None, "dashboard"),
    ("settings", "sliders", None, "dashboard"),
)
NAV_KEYS: tuple[str, ...] = tuple(key for key, _, _, _ in _NAV)


def build_nav(active: str | None, principal: Any = None) -> list[NavItem]:
    """The sidebar: the pages the signed-in ``principal`` may open (all, signed out)."""
    from urllib.parse import quote

    from cxm.web.viewer import may_open

    items = []
    for key, icon, href, level in _NAV:
        if principal is not None and not may_open(principal, level):
            continue
        if key == "departments" and principal is not None and principal.held_to is not None:
            href = f"/departments/{quote(principal.held_to, safe='')}"
        items.append(NavItem(key, icon, href, key == active))
    return items


def page_context(
    *,
    lang: str,
    principal: Any,
    csrf_token: str | None,
    active: str | None,
    here: str,
) -> dict[str, Any]:
    """What every template receives: ``t``, ``lang``, ``principal``, ``nav`` and friends.

    ``principal`` is the signed-in ``ApiPrincipal`` or None (login and anonymous errors);
    ``here`` is the current path and query, where the language switch returns to.
    """
    return {
        "lang": lang,
        "languages": SUPPORTED,
        "t": translator(lang),
        "principal": principal,
        "nav": build_nav(active, principal),
        "active": active,
        "csrf_token": csrf_token,
        "csrf_field": CSRF_FIELD,
        "csrf_header": CSRF_HEADER,
        "here": here,
    }


def _as_utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def format_datetime(value: datetime | None) -> str:
    return "" if value is None else _as_utc(value).strftime("%Y-%m-%d %H:%M")


def format_date(value: datetime | None) -> str:
    return "" if value is None else _as_utc(value).strftime("%Y-%m-%d")


def format_clock(value: datetime | None) -> str:
    """Date and time to the second: for events, where seconds tell them apart."""
    return "" if value is None else _as_utc(value).strftime("%Y-%m-%d %H:%M:%S")


def iso_datetime(value: datetime | None) -> str:
    return "" if value is None else _as_utc(value).isoformat().replace("+00:00", "Z")


@pass_context
def format_number(context: Context, value: int | float | None) -> str:
    if value is None:
        return ""
    text = f"{value:,}" if isinstance(value, int) else f"{value:,.1f}"
    if context.get("lang") == "pl":
        return text.replace(",", "\u00a0").replace(".", ",")
    return text


def humanize(value: str) -> str:
    text = value.replace("_", " ").replace(".", " ").strip()
    return text[:1].upper() + text[1:]


@pass_context
def translated_label(context: Context, value: str | None, prefix: str) -> str:
    """``t("<prefix>.<value>")`` when the catalogue has it, else ``value`` made readable."""
    if value is None:
        return ""
    t: Callable[..., str] = context["t"]
    key = f"{prefix}.{value}"
    text = t(key)
    return humanize(value) if text == key else text


@pass_context
def channel_label(context: Context, channel: str | None) -> str:
    return str(translated_label(context, channel, "channel"))


def display_value(value: Any) -> str:
    """A trait or property value as text: strings as they are, the rest as compact JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, default=str)


def pretty_json(value: Any) -> str:
    """A payload as indented JSON for reading (escaped by the template like any text)."""
    return json.dumps(value, ensure_ascii=False, indent=2, default=str)


def format_phone(value: str | None) -> str:
    """An E.164 number grouped for reading (+48 601 234 567); anything else as it is."""
    if not value:
        return ""
    try:
        number = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException:
        return value
    if not phonenumbers.is_possible_number(number):
        return value
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def evidence_rows(evidence: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Evidence of a match per field, each weight also as a bar width (% of the strongest).

    >>> rows = evidence_rows([{"field": "a", "weight": 2}, {"field": "b", "weight": -1}])
    >>> [(r["bar"], r["against"]) for r in rows]
    [(100.0, False), (50.0, True)]
    """
    weights = [abs(w) for e in evidence if isinstance(w := e.get("weight"), int | float)]
    top = max(weights, default=0) or 1
    rows = []
    for e in evidence:
        raw = e.get("weight")
        weight = float(raw) if isinstance(raw, int | float) else None
        rows.append(
            {
                "field": e.get("field"),
                "left": e.get("left"),
                "right": e.get("right"),
                "level": e.get("level"),
                "weight": weight,
                "bar": None if weight is None else round(100 * abs(weight) / top, 1),
                "against": weight is not None and weight < 0,
            }
        )
    return rows


def initials(name: str | None) -> str:
    words = [w for w in (name or "").replace("@", " ").split() if w[:1].isalnum()]
    return "".join(w[0] for w in words[:2]).upper() or "?"


@cache
def templates_env() -> Environment:
    """The shared Jinja2 environment (autoescaping on; unknown variables are errors).

    >>> templates_env().get_template("error.html")  # doctest: +ELLIPSIS
    <Template 'error.html'>
    """
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(["html", "xml"], default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        datetime=format_datetime,
        clock=format_clock,
        date=format_date,
        iso=iso_datetime,
        num=format_number,
        label=translated_label,
        channel=channel_label,
        value=display_value,
        pretty_json=pretty_json,
        initials=initials,
        phone=format_phone,
        humanize=humanize,
        evidence=evidence_rows,
    )
    env.globals.update(
        channel_color=channel_color,
        all_channels=CHANNELS,
        asset_version=__version__,
    )
    return env


def render_template(name: str, context: dict[str, Any]) -> str:
    return templates_env().get_template(name).render(context)
