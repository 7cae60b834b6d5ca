"""The survey builder's form: what was typed, the definition it stands for, and its errors.

The builder is a plain HTML form (it works without JavaScript). :func:`form_from_post` reads a
posted form into a :class:`SurveyForm`, :func:`definition_data` turns that into the definition
the surveys domain checks (``survey_from_data``), and :func:`form_errors` places each problem
the domain lists next to the field it is about. Blank question and option rows are dropped
before checking and :func:`padded` adds fresh ones after, so the rows on the page are numbered
as the definition's ``questions.N`` are and an error's ``loc`` points at the row shown.

>>> form = SurveyForm(id="nps-shop", kind="nps", languages=["en"])
>>> definition_data(form)["trigger"], definition_data(form)["expires_days"]
({'manual': True}, 14)
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from cxm.errors import ErrorDetail
from cxm.surveys import DEFAULT_HEADLINES, SurveyDefinition

FORM_LANGUAGES = ("en", "pl", "ru")
KINDS = ("nps", "csat", "ces", "custom")
AUDIENCES = ("customer", "employee")
QUESTION_TYPES = ("scale", "choice", "text")
TRIGGERS = ("manual", "after_touchpoint", "segment")
MAX_QUESTION_ROWS = 50
MAX_OPTION_ROWS = 30
BLANK_OPTION_ROWS = 2
DEFAULT_EXPIRES_DAYS = "14"

_QUESTION_FIELD = re.compile(r"^q-(\d{1,3})-(id|type|required|multiple|min|max|text-[a-z]{2})$")
_OPTION_FIELD = re.compile(r"^q-(\d{1,3})-opt-(\d{1,3})-(id|[a-z]{2})$")
_WHOLE = re.compile(r"^-?\d{1,6}$")


@dataclass
class OptionRow:
    id: str = ""
    labels: dict[str, str] = field(default_factory=dict)

    @property
    def blank(self) -> bool:
        return not self.id and not any(self.labels.values())


@dataclass
class QuestionRow:
    id: str = ""
    type: str = "text"
    required: bool = False
    texts: dict[str, str] = field(default_factory=dict)
    min: str = "1"
    max: str = "5"
    multiple: bool = False
    options: list[OptionRow] = field(default_factory=list)

    @property
    def blank(self) -> bool:
        return (
            not self.id
            and not any(self.texts.values())
            and all(option.blank for option in self.options)
        )


@dataclass
class SurveyForm:
    """The builder's fields as typed (numbers stay text until the domain checks them)."""

    id: str = ""
    name: str = ""
    kind: str = "nps"
    audience: str = "customer"
    languages: list[str] = field(default_factory=lambda: ["en"])
    headline: dict[str, str] = field(default_factory=dict)
    questions: list[QuestionRow] = field(default_factory=list)
    trigger: str = "manual"
    touchpoint: str = ""
    segment: str = ""
    expires_days: str = DEFAULT_EXPIRES_DAYS
    reminder_days: str = ""
    anonymous: bool = False


def form_from_post(fields: Iterable[tuple[str, Any]]) -> SurveyForm:
    """The builder form from posted ``(name, value)`` pairs; unknown fields are ignored."""
    values: dict[str, str] = {}
    languages: list[str] = []
    for name, raw in fields:
        if not isinstance(raw, str):
            continue
        if name == "languages":
            if raw not in languages:
                languages.append(raw)
        elif name not in values:
            values[name] = raw

    def get(name: str) -> str:
        return values.get(name, "").strip()

    rows = _question_rows(values)
    return SurveyForm(
        id=get("id"),
        name=get("name"),
        kind=get("kind"),
        audience=get("audience") or "customer",
        languages=languages,
        headline={lang: get(f"headline-{lang}") for lang in FORM_LANGUAGES},
        questions=rows,
        trigger=get("trigger") or "manual",
        touchpoint=get("trigger_touchpoint"),
        segment=get("trigger_segment"),
        expires_days=get("expires_days"),
        reminder_days=get("reminder_days"),
        anonymous=get("anonymous") in ("1", "on", "true"),
    )


def _question_rows(values: dict[str, str]) -> list[QuestionRow]:
    rows: dict[int, QuestionRow] = {}
    options: dict[tuple[int, int], OptionRow] = {}
    for name, raw in values.items():
        value = raw.strip()
        if found := _OPTION_FIELD.fullmatch(name):
            q, o, part = int(found[1]), int(found[2]), found[3]
            if q >= MAX_QUESTION_ROWS or o >= MAX_OPTION_ROWS:
                continue
            option = options.setdefault((q, o), OptionRow())
            if part == "id":
                option.id = value
            elif part in FORM_LANGUAGES:
                option.labels[part] = value
        elif found := _QUESTION_FIELD.fullmatch(name):
            q, part = int(found[1]), found[2]
            if q >= MAX_QUESTION_ROWS:
                continue
            row = rows.setdefault(q, QuestionRow(min="", max=""))
            if part.startswith("text-"):
                if part[5:] in FORM_LANGUAGES:
                    row.texts[part[5:]] = value
            elif part in ("required", "multiple"):
                setattr(row, part, value in ("1", "on", "true"))
            else:
                setattr(row, part, value)
    for (q, _), option in sorted(options.items()):
        rows.setdefault(q, QuestionRow(min="", max="")).options.append(option)
    return [rows[q] for q in sorted(rows)]


def form_from_definition(definition: SurveyDefinition) -> SurveyForm:
    """The form of a stored survey, to save its next version (standard headlines left blank)."""
    headline = definition.headline
    defaults = DEFAULT_HEADLINES.get(definition.kind, {})
    texts = dict(headline.text) if headline is not None else {}
    trigger = definition.trigger
    return SurveyForm(
        id=definition.id,
        name=definition.name,
        kind=definition.kind,
        audience=definition.audience,
        languages=list(definition.languages),
        headline={lang: text for lang, text in texts.items() if defaults.get(lang) != text},
        questions=[
            QuestionRow(
                id=q.id,
                type=q.type,
                required=q.required,
                texts=dict(q.text),
                min="" if q.min is None else str(q.min),
                max="" if q.max is None else str(q.max),
                multiple=q.multiple,
                options=[OptionRow(o.id, dict(o.label)) for o in q.options],
            )
            for q in definition.questions
            if q is not headline
        ],
        trigger=trigger.type,
        touchpoint=(trigger.value or "") if trigger.type == "after_touchpoint" else "",
        segment=(trigger.value or "") if trigger.type == "segment" else "",
        expires_days=str(definition.expires_days),
        reminder_days="" if definition.reminder_days is None else str(definition.reminder_days),
        anonymous=definition.anonymous,
    )


def compacted(form: SurveyForm) -> SurveyForm:
    """``form`` without its blank question and option rows (what is sent to be checked)."""
    questions = [
        replace(q, options=[o for o in q.options if not o.blank])
        for q in form.questions
        if not q.blank
    ]
    return replace(form, questions=questions)


def padded(form: SurveyForm, *, blank_questions: int = 1) -> SurveyForm:
    """``form`` with fresh rows to fill in: ``blank_questions`` questions, and two options
    under every question (shown for choice questions only)."""
    questions = [
        replace(q, options=[*q.options, *(OptionRow() for _ in range(BLANK_OPTION_ROWS))])
        for q in form.questions
    ]
    room = max(0, MAX_QUESTION_ROWS - len(questions))
    blanks = [
        QuestionRow(options=[OptionRow() for _ in range(BLANK_OPTION_ROWS)])
        for _ in range(min(blank_questions, room))
    ]
    return replace(form, questions=questions + blanks)


def definition_data(form: SurveyForm) -> dict[str, Any]:
    """The definition ``form`` stands for, as ``survey_from_data`` reads it.

    Empty texts are left out (a standard headline then takes cxm's wording); what is typed is
    passed on as typed, so the domain's checker is the one judge of it.
    """
    data: dict[str, Any] = {
        "id": form.id,
        "kind": form.kind,
        "audience": form.audience,
        "languages": list(form.languages),
    }
    if form.name:
        data["name"] = form.name
    headline = {lang: text for lang, text in form.headline.items() if text}
    if headline and form.kind != "custom":  # a custom survey's form hides the headline texts
        data["question"] = headline
    data["questions"] = [_question_data(q) for q in form.questions if not q.blank]
    if form.trigger == "after_touchpoint":
        data["trigger"] = {"after_touchpoint": form.touchpoint}
    elif form.trigger == "segment":
        data["trigger"] = {"segment": form.segment}
    else:
        data["trigger"] = {"manual": True}
    data["expires_days"] = _number(form.expires_days or DEFAULT_EXPIRES_DAYS)
    if form.reminder_days:
        data["reminder_days"] = _number(form.reminder_days)
    data["anonymous"] = form.anonymous
    return data


def _question_data(row: QuestionRow) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": row.id or None,
        "type": row.type,
        "text": {lang: text for lang, text in row.texts.items() if text},
        "required": row.required,
    }
    if row.type == "scale":
        data["min"] = _number(row.min or "1")
        data["max"] = _number(row.max or "5")
    elif row.type == "choice":
        data["multiple"] = row.multiple
        data["options"] = [
            {"id": o.id or None, "label": {k: v for k, v in o.labels.items() if v}}
            for o in row.options
            if not o.blank
        ]
    return data


def _number(text: str) -> int | str:
    # Not a whole number: passed on as typed, so the checker names the value in its message.
    return int(text) if _WHOLE.fullmatch(text) else text


@dataclass(frozen=True)
class FieldError:
    """A problem of the definition: its place (``loc`` as the API gives it), the message, and
    the form field it belongs to (None when no one field is to blame)."""

    loc: str
    message: str
    field: str | None


def form_errors(errors: Sequence[ErrorDetail]) -> list[FieldError]:
    """The domain's problems as :class:`FieldError`, in the order listed.

    >>> e = ErrorDetail(("questions", 0, "text", "ru"), "questions.0.text.ru: no 'ru'; add one")
    >>> form_errors([e])
    [FieldError(loc='questions.0.text.ru', message="no 'ru'; add one", field='q-0-text-ru')]
    """
    found = []
    for error in errors:
        loc = ".".join(str(part) for part in error.loc)
        message = error.message.removeprefix(f"{loc}: ") if loc else error.message
        found.append(FieldError(loc, message, field_for(error.loc)))
    return found


def field_for(loc: Sequence[str | int]) -> str | None:
    """The form field a ``loc`` of the definition is about.

    >>> field_for(("questions", 2, "options", 1, "label", "pl")), field_for(("question", "ru"))
    ('q-2-opt-1-pl', 'headline-ru')
    """
    if not loc:
        return None
    head, rest = loc[0], list(loc[1:])
    if head in ("id", "name", "kind", "audience", "expires_days", "reminder_days", "anonymous"):
        return str(head)
    if head in ("languages", "trigger"):
        return str(head)
    if head == "question":
        return f"headline-{rest[0]}" if rest and rest[0] in FORM_LANGUAGES else "headline"
    if head != "questions" or not rest or not isinstance(rest[0], int):
        return "questions" if head == "questions" else None
    q = rest[0]
    tail = rest[1:]
    if not tail:
        return f"q-{q}"
    if tail[0] == "text":
        return f"q-{q}-text-{tail[1]}" if len(tail) > 1 else f"q-{q}-text"
    if tail[0] == "options":
        if len(tail) > 1 and isinstance(tail[1], int):
            o = tail[1]
            if len(tail) > 3 and tail[2] == "label":
                return f"q-{q}-opt-{o}-{tail[3]}"
            return f"q-{q}-opt-{o}-id"
        return f"q-{q}-options"
    return f"q-{q}-{tail[0]}"
