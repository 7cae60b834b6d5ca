"""Automation rules as people write them (YAML, or JSON through the API), checked with every
problem listed at once.

A rule is a trigger, conditions, actions and limits::

    name: outage-apology
    description: Apologise to customers whose repair took a second visit
    trigger:
      event: Repair Completed          # or: score: {kind: nps, below: 7}
                                       # or: text_topic: 12  (what a customer wrote, by topic)
                                       # or: segment_entry: at-risk
                                       # or: schedule: "0 9 * * MON"  (cron, UTC)
      where: {visit: 2}                # the event's properties (equality)
    conditions:
      traits: {plan: fibre}            # the segment syntax: value, {one_of}, {exists}
      segment: krakow-fibre            # a saved segment the customer is in now
      not_segment: vip
    consent: service                   # the purpose contact actions need (default service)
    actions:
      - email:
          subject: {pl: "Przepraszamy, {{ first_name }}", en: "Sorry, {{ first_name }}"}
          body: {pl: "…", en: "…", ru: "…"}
      - webhook: {url: "https://crm.example/hooks/cxm"}
      - case: {title: "Call back {{ name }}", department: customer-success, priority: high}
      - nudge: {channel: app, message: {pl: "…", en: "…"}}
      - survey: {survey: contact_csat, touchpoint: calls}
      - trait: {key: wifi_offer, value: sent}   # into every segment defined on the trait
    limits:
      per_customer: {count: 1, days: 30}   # frequency cap (default 1 in 7 days)
      quiet_hours: {start: "21:00", end: "08:00", timezone: Europe/Warsaw}
    campaign:                          # a measured campaign: a random holdout gets nothing
      holdout: 0.2
      goal: {event: Add-on Purchased, where: {addon: Wi-Fi Booster}, days: 30}

>>> rule = parse_rule_yaml("name: r\\ntrigger: {event: X}\\nactions: [{nudge: {message: Hi}}]")
>>> (rule.name, rule.trigger.kind, rule.actions[0].kind)
('r', 'event', 'nudge')
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import time
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from croniter import croniter
from jinja2 import StrictUndefined, TemplateSyntaxError, meta
from jinja2.sandbox import SandboxedEnvironment

from cxm.cases.policy import check_priority
from cxm.errors import ErrorDetail, InvalidInput
from cxm.segments.definitions import segment_from_data
from cxm.segments.models import SegmentDefinition, SegmentDefinitionInvalid

RULE_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,99}$")
LANGUAGES = ("pl", "en", "ru")
SCORE_KINDS = ("nps", "csat", "ces")
TRIGGER_KINDS = ("event", "score", "text_topic", "segment_entry", "schedule", "alert")
ALERT_KINDS = ("spike", "drop", "rise")
# What an alert rule may do: tell people (a webhook to the team's tool, an e-mail to its
# address); it has no customer to contact, open a case for or survey.
ALERT_ACTIONS = frozenset({"webhook", "email"})
ADDRESS = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")
SENTIMENTS = ("negative", "neutral", "positive", "mixed")
ACTION_KINDS = ("webhook", "email", "case", "nudge", "survey", "trait")
# Actions that speak through ingest (an identify event), so the fact enters like every other.
INGESTING = frozenset({"trait"})
# Actions that reach another system over the network and touch no table.
NETWORK = frozenset({"webhook", "email"})
# Traits automation may not set: who the customer is, and what the customer said about consent.
PROTECTED_TRAITS = frozenset({"email", "phone", "name", "firstName", "lastName", "userId",
                              "address", "birthday", "do_not_contact", "consents"})  # fmt: skip
# Actions that reach the customer: they need consent and respect do-not-contact.
CONTACTING = frozenset({"email", "nudge", "survey"})
MAX_ACTIONS = 10
MAX_TEMPLATE = 20_000
# A variable the template names but the customer lacks is an error (the action goes to the
# dead letters with the message), never a silent blank; `{{ traits.plan | default("") }}`
# says a blank is fine.
TEMPLATES = SandboxedEnvironment(autoescape=False, undefined=StrictUndefined)
TEMPLATE_VARIABLES = ("first_name", "name", "traits", "language", "profile_id", "event",
                      "trigger_at", "alert")  # fmt: skip
# Where cxm takes events in: a webhook posting there from an event-triggered rule would feed
# the rule its own trigger again.
TRACKING_PATHS = re.compile(r"/v1/(batch|track|identify|page|screen|group|alias|import|b)/?$")
Loc = tuple[str | int, ...]


class RuleInvalid(InvalidInput):
    """A rule broke one or more rules of its own; ``errors`` lists every problem."""

    code = "invalid_rule"


@dataclass(frozen=True)
class Trigger:
    kind: str  # one of TRIGGER_KINDS
    event: str | None = None
    where: dict[str, Any] = field(default_factory=dict)
    score_kind: str | None = None
    below: float | None = None
    above: float | None = None
    segment: str | None = None
    cron: str | None = None
    topic: int | None = None
    sentiment: str | None = None
    department: str | None = None  # alert: only alerts concerning this department
    alert_kind: str | None = None  # alert: only spikes, drops or rises

    def to_data(self) -> dict[str, Any]:
        if self.kind == "event":
            return {"event": self.event, **({"where": self.where} if self.where else {})}
        if self.kind == "score":
            bound = {"below": self.below} if self.below is not None else {"above": self.above}
            return {"score": {"kind": self.score_kind, **bound}}
        if self.kind == "segment_entry":
            return {"segment_entry": self.segment}
        if self.kind == "text_topic":
            if self.sentiment:
                return {"text_topic": {"topic": self.topic, "sentiment": self.sentiment}}
            return {"text_topic": self.topic}
        if self.kind == "alert":
            wanted = {"department": self.department, "kind": self.alert_kind}
            return {"alert": {k: v for k, v in wanted.items() if v is not None}}
        return {"schedule": self.cron}


@dataclass(frozen=True)
class Action:
    kind: str
    options: dict[str, Any]

    @property
    def channel(self) -> str | None:
        """The channel through which the action reaches the customer (for consent)."""
        if self.kind in ("email", "survey"):
            return "email"
        if self.kind == "nudge":
            return str(self.options.get("channel", "app"))
        return None

    @property
    def contacting(self) -> bool:
        """Whether the action reaches the customer (an e-mail to a fixed address reaches staff)."""
        if self.kind == "email" and not str(self.options.get("to", "trait:")).startswith("trait:"):
            return False
        return self.kind in CONTACTING


@dataclass(frozen=True)
class Limits:
    count: int = 1
    days: int = 7
    quiet_start: time | None = None
    quiet_end: time | None = None
    timezone: str = "Europe/Warsaw"


@dataclass(frozen=True)
class Goal:
    """What a campaign wants the customer to do, within ``days`` of the firing."""

    event: str
    where: dict[str, Any]
    days: int

    def met_by(self, name: str | None, props: dict[str, Any]) -> bool:
        return name == self.event and all(props.get(k) == v for k, v in self.where.items())


@dataclass(frozen=True)
class Campaign:
    holdout: float  # share of the eligible customers kept out, drawn at random
    goal: Goal


@dataclass(frozen=True)
class Rule:
    name: str
    description: str | None
    trigger: Trigger
    traits: SegmentDefinition | None
    segment: str | None
    not_segment: str | None
    consent: str
    actions: tuple[Action, ...]
    limits: Limits
    source: dict[str, Any]  # the definition as written (normalised), stored and shown
    campaign: Campaign | None = None

    @property
    def contacts_customer(self) -> bool:
        return any(a.contacting for a in self.actions)


def parse_rule_yaml(text: str) -> Rule:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise RuleInvalid(f"the rule is not valid YAML: {exc}") from exc
    return rule_from_data(data)


def rule_from_data(data: Any) -> Rule:
    """Check a rule (parsed YAML or JSON) and build it; raises RuleInvalid listing problems."""
    if not isinstance(data, dict):
        raise RuleInvalid(
            f"a rule is an object with name, trigger and actions, not {type(data).__name__}"
        )
    problems: list[ErrorDetail] = []

    def add(loc: Loc, message: str) -> None:
        where = ".".join(str(part) for part in loc)
        problems.append(ErrorDetail(loc, f"{where}: {message}" if where else message))

    known = {"name", "description", "trigger", "conditions", "consent", "actions", "limits",
             "campaign", "enabled"}  # fmt: skip
    for key in data:
        if key not in known:
            add((str(key),), f"unknown key; a rule has {', '.join(sorted(known))}")
    name = data.get("name")
    if not isinstance(name, str) or not RULE_NAME.fullmatch(name):
        add(("name",), "a rule's name is lower-case letters, digits, '-' or '_' (at most 100)")
    description = data.get("description")
    if description is not None and (not isinstance(description, str) or len(description) > 2000):
        add(("description",), "text of at most 2000 characters")
    trigger = _trigger(data.get("trigger"), add)
    traits, segment, not_segment = _conditions(data.get("conditions"), add)
    consent = data.get("consent", "service")
    if not isinstance(consent, str) or not re.fullmatch(r"[a-z][a-z0-9_-]{0,49}", consent):
        add(("consent",), "a purpose name such as service or marketing")
    actions = _actions(data.get("actions"), add)
    _no_loops(trigger, actions, add)
    if trigger is not None and trigger.kind == "alert":
        _alert_rule(data, actions, add)
    limits = _limits(data.get("limits"), add)
    campaign = _campaign(data.get("campaign"), add)
    if problems:
        more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
        raise RuleInvalid(f"the rule is not valid: {problems[0].message}{more}", errors=problems)
    assert isinstance(name, str) and trigger is not None and limits is not None
    source = {k: v for k, v in data.items() if k != "enabled"}
    return Rule(name, description, trigger, traits, segment, not_segment, str(consent),
                tuple(actions), limits, source, campaign)  # fmt: skip


def _trigger(raw: Any, add: Any) -> Trigger | None:
    if not isinstance(raw, dict):
        add(("trigger",), f"one of {', '.join(TRIGGER_KINDS)}")
        return None
    kinds = [k for k in TRIGGER_KINDS if k in raw]
    if len(kinds) != 1:
        add(("trigger",), f"exactly one of {', '.join(TRIGGER_KINDS)}")
        return None
    kind = kinds[0]
    allowed = {kind, "where"} if kind == "event" else {kind}
    extra = sorted(set(raw) - allowed)
    if extra:
        add(("trigger",), f"unknown key(s) {extra} beside {kind}")
    value = raw[kind]
    if kind == "event":
        where = raw.get("where", {})
        if not isinstance(value, str) or not value.strip() or len(value) > 200:
            add(("trigger", "event"), "the event's name (text, at most 200 characters)")
        if not isinstance(where, dict) or any(isinstance(v, dict | list) for v in where.values()):
            add(("trigger", "where"), "property: value pairs (equality on plain values)")
            where = {}
        return Trigger("event", event=value if isinstance(value, str) else None, where=where)
    if kind == "score":
        if not isinstance(value, dict) or value.get("kind") not in SCORE_KINDS:
            add(("trigger", "score", "kind"), f"one of {', '.join(SCORE_KINDS)}")
            return None
        bounds = [b for b in ("below", "above") if b in value]
        if (
            len(bounds) != 1
            or isinstance(value[bounds[0]], bool)
            or not isinstance(value[bounds[0]], int | float)
        ):
            add(("trigger", "score"), "one number, below or above")
            return None
        bound = float(value[bounds[0]])
        if bounds[0] == "below":
            return Trigger("score", score_kind=value["kind"], below=bound)
        return Trigger("score", score_kind=value["kind"], above=bound)
    if kind == "text_topic":
        topic, sentiment = (
            (value.get("topic"), value.get("sentiment"))
            if isinstance(value, dict)
            else (value, None)
        )
        if isinstance(topic, bool) or not isinstance(topic, int) or topic < 1:
            add(("trigger", "text_topic"), "a topic's id (GET /api/text/topics lists them)")
            return None
        if sentiment is not None and sentiment not in SENTIMENTS:
            add(("trigger", "text_topic", "sentiment"), f"one of {', '.join(SENTIMENTS)}")
            return None
        return Trigger("text_topic", topic=topic, sentiment=sentiment)
    if kind == "alert":
        if value in (None, "any"):
            value = {}
        if not isinstance(value, dict) or set(value) - {"department", "kind"}:
            add(("trigger", "alert"), "{} for every alert, or department and/or kind")
            return None
        department, alert_kind = value.get("department"), value.get("kind")
        if department is not None and (not isinstance(department, str) or not department):
            add(("trigger", "alert", "department"), "a department id of the journey map")
            return None
        if alert_kind is not None and alert_kind not in ALERT_KINDS:
            add(("trigger", "alert", "kind"), f"one of {', '.join(ALERT_KINDS)}")
            return None
        return Trigger("alert", department=department, alert_kind=alert_kind)
    if kind == "segment_entry":
        if not isinstance(value, str) or not value:
            add(("trigger", "segment_entry"), "the name of a saved segment")
        return Trigger("segment_entry", segment=value if isinstance(value, str) else None)
    if not isinstance(value, str) or not croniter.is_valid(value):
        add(("trigger", "schedule"), f"a cron expression such as '0 9 * * MON', got {value!r}")
        return None
    return Trigger("schedule", cron=value)


def _conditions(raw: Any, add: Any) -> tuple[SegmentDefinition | None, str | None, str | None]:
    if raw is None:
        return None, None, None
    if not isinstance(raw, dict):
        add(("conditions",), "an object with traits, segment or not_segment")
        return None, None, None
    for key in raw:
        if key not in ("traits", "segment", "not_segment"):
            add(("conditions", str(key)), "unknown; use traits, segment or not_segment")
    traits = None
    if "traits" in raw:
        try:
            traits = segment_from_data({"name": "rule-conditions", "traits": raw["traits"]})
        except SegmentDefinitionInvalid as exc:
            for problem in exc.errors:
                add(("conditions", *problem.loc), problem.message.split(": ", 1)[-1])
    names = []
    for key in ("segment", "not_segment"):
        value = raw.get(key)
        if value is not None and (not isinstance(value, str) or not value):
            add(("conditions", key), "the name of a saved segment")
            value = None
        names.append(value)
    return traits, names[0], names[1]


def _text(value: Any, loc: Loc, add: Any, *, required: bool = True) -> None:
    """A template: text, or text per language (pl, en, ru); each must compile."""
    if value is None and not required:
        return
    variants = value if isinstance(value, dict) else {"": value}
    if not variants or not all(isinstance(v, str) and v.strip() for v in variants.values()):
        add(loc, "text, or text per language: {pl: …, en: …, ru: …}")
        return
    for lang, text in variants.items():
        if lang and lang not in LANGUAGES:
            add((*loc, lang), f"unknown language; use {', '.join(LANGUAGES)}")
        if len(text) > MAX_TEMPLATE:
            add((*loc, lang) if lang else loc, f"at most {MAX_TEMPLATE} characters")
        where = (*loc, lang) if lang else loc
        try:
            names = meta.find_undeclared_variables(TEMPLATES.parse(text))
        except TemplateSyntaxError as exc:
            add(where, f"template error on line {exc.lineno}: {exc.message}")
            continue
        unknown = sorted(names - set(TEMPLATE_VARIABLES))
        if unknown:
            add(where, f"unknown variable(s) {', '.join(unknown)}; templates may use "
                       f"{', '.join(TEMPLATE_VARIABLES)}")  # fmt: skip


def _actions(raw: Any, add: Any) -> list[Action]:
    if not isinstance(raw, list) or not raw or len(raw) > MAX_ACTIONS:
        add(("actions",), f"a list of 1 to {MAX_ACTIONS} actions")
        return []
    out = []
    for i, item in enumerate(raw):
        loc: Loc = ("actions", i)
        if not isinstance(item, dict) or len(item) != 1:
            add(loc, f"one of {', '.join(ACTION_KINDS)} with its options")
            continue
        kind, options = next(iter(item.items()))
        if kind not in ACTION_KINDS:
            add(loc, f"unknown action {kind!r}; use {', '.join(ACTION_KINDS)}")
            continue
        if not isinstance(options, dict):
            add((*loc, kind), "the action's options (an object)")
            continue
        _check_action(kind, options, (*loc, kind), add)
        out.append(Action(kind, options))
    return out


_ACTION_KEYS = {
    "webhook": {"url", "secret_env"},
    "email": {"subject", "body", "to"},
    "case": {"title", "department", "priority", "note"},
    "nudge": {"channel", "message"},
    "survey": {"survey", "touchpoint"},
    "trait": {"key", "value"},
}


def _check_action(kind: str, options: dict[str, Any], loc: Loc, add: Any) -> None:
    for key in options:
        if key not in _ACTION_KEYS[kind]:
            add(
                (*loc, key), f"unknown option; {kind} takes {', '.join(sorted(_ACTION_KEYS[kind]))}"
            )
    if kind == "webhook":
        url = options.get("url")
        if not isinstance(url, str) or not re.match(r"^https?://[^\s]+$", url):
            add((*loc, "url"), "an http:// or https:// address")
        secret = options.get("secret_env")
        if secret is not None and (
            not isinstance(secret, str) or not re.fullmatch(r"[A-Z_][A-Z0-9_]*", secret)
        ):
            add((*loc, "secret_env"), "the name of an environment variable holding the secret")
    elif kind == "email":
        _text(options.get("subject"), (*loc, "subject"), add)
        _text(options.get("body"), (*loc, "body"), add)
        to = options.get("to", "trait:email")
        if not isinstance(to, str) or not (to.startswith("trait:") or ADDRESS.match(to)):
            add(
                (*loc, "to"),
                "trait:KEY, the trait holding the customer's address (default "
                "trait:email), or a fixed address such as team@example.com",
            )
    elif kind == "case":
        _text(options.get("title"), (*loc, "title"), add)
        _text(options.get("note"), (*loc, "note"), add, required=False)
        try:
            check_priority(options.get("priority", "normal"))
        except InvalidInput as exc:
            add((*loc, "priority"), exc.message)
    elif kind == "survey":
        name = options.get("survey")
        if not isinstance(name, str) or not name.strip():
            add((*loc, "survey"), "the name of a saved survey (GET /api/surveys lists them)")
        touchpoint = options.get("touchpoint")
        if touchpoint is not None and (not isinstance(touchpoint, str) or not touchpoint):
            add((*loc, "touchpoint"), "the journey map touchpoint the answers are about")
    elif kind == "trait":
        trait, value = options.get("key"), options.get("value")
        if not isinstance(trait, str) or not re.fullmatch(r"[A-Za-z][A-Za-z0-9_.-]{0,99}", trait):
            add((*loc, "key"), "a trait name (letters, digits, _ . -), e.g. wifi_offer")
        elif trait in PROTECTED_TRAITS or trait.startswith("consent"):
            add((*loc, "key"), f"{trait!r} says who the customer is or what they consented to; "
                               "automation does not set it")  # fmt: skip
        if value is None or isinstance(value, dict | list):
            add((*loc, "value"), "a plain value: text, a number, true or false")
    elif kind == "nudge":
        _text(options.get("message"), (*loc, "message"), add)
        if options.get("channel", "app") not in ("app", "web"):
            add((*loc, "channel"), "app or web")


def _alert_rule(data: dict[str, Any], actions: list[Action], add: Any) -> None:
    """An alert concerns departments, not a customer: no customer conditions, no campaign,
    and only actions that tell people (a webhook, an e-mail to a fixed address)."""
    for key in ("conditions", "campaign"):
        if key in data:
            add((key,), "an alert rule has no customer to hold this to")
    for i, action in enumerate(actions):
        if action.kind not in ALERT_ACTIONS:
            add(("actions", i), f"an alert rule can use {', '.join(sorted(ALERT_ACTIONS))}, "
                                f"not {action.kind}")  # fmt: skip
        elif action.kind == "email" and action.contacting:
            add(("actions", i, "email", "to"), "a fixed address (the team's), not a trait")


def _no_loops(trigger: Trigger | None, actions: list[Action], add: Any) -> None:
    """Refuse a rule whose action would feed it its own trigger: a webhook posting to a
    tracking API (cxm's or a Segment-compatible one that forwards here) from a rule that
    fires on events. cxm's own actions (cases, messages, e-mails, surveys) send no events;
    every rule is also capped per customer, so no loop through another system can storm."""
    if trigger is None or trigger.kind not in ("event", "score", "text_topic"):
        return
    for i, action in enumerate(actions):
        url = action.options.get("url") if action.kind == "webhook" else None
        if isinstance(url, str) and TRACKING_PATHS.search(url.split("?")[0]):
            add(("actions", i, "webhook", "url"),
                f"{url} is a tracking API: the event this webhook sends would trigger the rule "
                "again (a loop); send it to a receiver of your own instead")  # fmt: skip


def _limits(raw: Any, add: Any) -> Limits | None:
    if raw is None:
        return Limits()
    if not isinstance(raw, dict):
        add(("limits",), "an object with per_customer and quiet_hours")
        return None
    count, days = 1, 7
    per = raw.get("per_customer")
    if per is not None:
        if (
            not isinstance(per, dict)
            or not isinstance(per.get("count"), int)
            or not isinstance(per.get("days"), int)
            or isinstance(per.get("count"), bool)
            or not 1 <= per["count"] <= 1000
            or not 1 <= per["days"] <= 3650
        ):
            add(("limits", "per_customer"), "{count: 1..1000, days: 1..3650}")
        else:
            count, days = per["count"], per["days"]
    quiet = raw.get("quiet_hours")
    start = end = None
    zone = "Europe/Warsaw"
    if quiet is not None:
        if not isinstance(quiet, dict):
            add(("limits", "quiet_hours"), "{start: 'HH:MM', end: 'HH:MM', timezone: Area/City}")
        else:
            start = _clock(quiet.get("start"), ("limits", "quiet_hours", "start"), add)
            end = _clock(quiet.get("end"), ("limits", "quiet_hours", "end"), add)
            zone = quiet.get("timezone", zone)
            try:
                ZoneInfo(str(zone))
            except (ZoneInfoNotFoundError, ValueError):
                add(("limits", "quiet_hours", "timezone"), f"unknown time zone {zone!r}")
    for key in raw:
        if key not in ("per_customer", "quiet_hours"):
            add(("limits", str(key)), "unknown; use per_customer or quiet_hours")
    return Limits(count, days, start, end, str(zone))


def _campaign(raw: Any, add: Any) -> Campaign | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        add(("campaign",), "{holdout: 0.2, goal: {event: NAME, where: {…}, days: 30}}")
        return None
    for key in raw:
        if key not in ("holdout", "goal"):
            add(("campaign", str(key)), "unknown; a campaign has holdout and goal")
    holdout = raw.get("holdout")
    if isinstance(holdout, bool) or not isinstance(holdout, int | float) or not 0 < holdout <= 0.5:
        add(("campaign", "holdout"), "the share kept out, above 0 and at most 0.5 (e.g. 0.2)")
        holdout = None
    goal = raw.get("goal")
    if not isinstance(goal, dict):
        add(("campaign", "goal"), "{event: NAME, where: {property: value}, days: 1..365}")
        return None
    event, where, days = goal.get("event"), goal.get("where", {}), goal.get("days", 30)
    if not isinstance(event, str) or not event.strip():
        add(("campaign", "goal", "event"), "the name of the event that counts as success")
    if not isinstance(where, dict) or any(isinstance(v, dict | list) for v in where.values()):
        add(("campaign", "goal", "where"), "property: value pairs (equality on plain values)")
        where = {}
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= 365:
        add(("campaign", "goal", "days"), "whole days from 1 to 365")
        days = 30
    for key in goal:
        if key not in ("event", "where", "days"):
            add(("campaign", "goal", str(key)), "unknown; a goal has event, where and days")
    if holdout is None or not isinstance(event, str):
        return None
    return Campaign(float(holdout), Goal(event, dict(where), days))


def _clock(value: Any, loc: Loc, add: Any) -> time | None:
    if isinstance(value, int) and not isinstance(value, bool):
        # YAML reads 21:00 as sexagesimal 1260 (minutes); accept it as the clock it meant.
        value = f"{value // 60:02d}:{value % 60:02d}"
    if not isinstance(value, str) or not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", value):
        add(loc, "a time of day 'HH:MM'")
        return None
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))
