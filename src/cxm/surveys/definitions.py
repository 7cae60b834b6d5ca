"""Reading a survey definition (JSON or YAML) and checking it, every problem listed at once.

>>> survey = survey_from_data({"id": "nps-after-repair", "kind": "nps", "languages": ["en"]})
>>> survey.headline.min, survey.headline.max, survey.headline.text["en"][:30]
(0, 10, 'How likely are you to recommen')
"""

from __future__ import annotations

import re
from collections.abc import Collection
from typing import Any, cast

import yaml

from cxm.errors import ErrorDetail
from cxm.surveys.models import (
    DEFAULT_HEADLINES,
    HEADLINE,
    SCALES,
    Audience,
    Option,
    Question,
    SurveyDefinition,
    SurveyDefinitionInvalid,
    SurveyKind,
    Trigger,
)

SURVEY_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,99}$")
QUESTION_ID = re.compile(r"^[a-z][a-z0-9_]{0,59}$")
LANGUAGE = re.compile(r"^[a-z]{2,3}(-[A-Z]{2})?$")
KINDS = ("nps", "csat", "ces", "custom")
AUDIENCES = ("customer", "employee")
QUESTION_TYPES = ("scale", "choice", "text")
MAX_QUESTIONS = 50
MAX_TEXT = 2000

_KEYS = {
    "id",
    "name",
    "kind",
    "audience",
    "languages",
    "question",
    "questions",
    "trigger",
    "expires_days",
    "reminder_days",
    "anonymous",
}

Loc = tuple[str | int, ...]


class _Problems:
    def __init__(self) -> None:
        self.found: list[ErrorDetail] = []

    def add(self, loc: Loc, message: str) -> None:
        where = ".".join(str(part) for part in loc)
        self.found.append(ErrorDetail(loc, f"{where}: {message}" if where else message))


def parse_survey_yaml(
    text: str,
    *,
    touchpoints: Collection[str] | None = None,
    segments: Collection[str] | None = None,
) -> SurveyDefinition:
    """A definition written in YAML (the same structure as the JSON form)."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise SurveyDefinitionInvalid(f"the survey definition is not valid YAML: {exc}") from exc
    return survey_from_data(data, touchpoints=touchpoints, segments=segments)


def survey_from_data(
    data: Any,
    *,
    touchpoints: Collection[str] | None = None,
    segments: Collection[str] | None = None,
) -> SurveyDefinition:
    """Check a definition (parsed JSON or YAML) and build it; raises SurveyDefinitionInvalid.

    ``touchpoints`` are the journey map's touchpoint ids an ``after_touchpoint`` trigger may
    name; None means no journey map is saved, so such a trigger is refused. ``segments`` are
    the names a ``segment`` trigger may name; None leaves the name unchecked.
    """
    problems = _Problems()
    if not isinstance(data, dict):
        raise SurveyDefinitionInvalid(
            f"a survey definition is an object with id, kind and languages, "
            f"not {type(data).__name__}"
        )
    for key in sorted(set(map(str, data)) - _KEYS):
        problems.add((key,), f"unknown field; the fields are {', '.join(sorted(_KEYS))}")

    survey_id = data.get("id")
    if not isinstance(survey_id, str) or not SURVEY_ID.fullmatch(survey_id):
        problems.add(
            ("id",),
            f"{survey_id!r} is not a survey id: lower-case letters, digits, '-' or '_' (max 100)",
        )
    name = data.get("name", survey_id)
    if not isinstance(name, str) or not name.strip() or len(name) > 200:
        problems.add(("name",), "the name must be text of 1 to 200 characters")
    kind = data.get("kind")
    if kind not in KINDS:
        problems.add(("kind",), f"{kind!r} is not a survey kind; use one of {', '.join(KINDS)}")
    audience = data.get("audience", "customer")
    if audience not in AUDIENCES:
        problems.add(("audience",), f"{audience!r} is not an audience; use customer or employee")
    languages = _languages(data.get("languages"), problems)

    questions: list[Question] = []
    if kind in SCALES:
        headline = _headline(str(kind), data.get("question"), languages, problems)
        if headline is not None:
            questions.append(headline)
    elif "question" in data:
        problems.add(("question",), "a custom survey has no headline question; use 'questions'")
    raw_questions = data.get("questions", [])
    if not isinstance(raw_questions, list):
        problems.add(("questions",), "the questions must be a list")
        raw_questions = []
    if len(raw_questions) > MAX_QUESTIONS:
        problems.add(("questions",), f"at most {MAX_QUESTIONS} questions")
    seen = {q.id for q in questions}
    for index, raw in enumerate(raw_questions[:MAX_QUESTIONS]):
        question = _question(raw, ("questions", index), languages, problems)
        if question is None:
            continue
        if question.id in seen:
            problems.add(("questions", index, "id"), f"the id '{question.id}' is used twice")
        seen.add(question.id)
        questions.append(question)
    if kind == "custom" and not raw_questions:
        problems.add(("questions",), "a custom survey needs at least one question")

    trigger = _trigger(data.get("trigger", {"manual": True}), touchpoints, segments, problems)
    if audience == "employee" and trigger is not None and trigger.type != "manual":
        problems.add(
            ("trigger",),
            "an employee survey is sent to departments by hand ({manual: true}); touchpoint "
            "and segment triggers invite customers",
        )
    expires_days = _days(data.get("expires_days", 14), ("expires_days",), problems, minimum=1)
    reminder_days = data.get("reminder_days")
    if reminder_days is not None:
        reminder_days = _days(reminder_days, ("reminder_days",), problems, minimum=1)
        if reminder_days is not None and expires_days is not None and reminder_days >= expires_days:
            problems.add(
                ("reminder_days",),
                f"a reminder after {reminder_days} days comes after the invitation expires "
                f"({expires_days} days); make it shorter",
            )
    anonymous = data.get("anonymous", False)
    if not isinstance(anonymous, bool):
        problems.add(("anonymous",), "anonymous must be true or false")

    if problems.found:
        count = len(problems.found)
        first = problems.found[0].message
        more = f" (and {count - 1} more problems)" if count > 1 else ""
        raise SurveyDefinitionInvalid(
            f"the survey definition is not valid: {first}{more}", errors=problems.found
        )
    return SurveyDefinition(
        id=cast(str, survey_id),
        name=cast(str, name).strip(),
        kind=cast(SurveyKind, kind),
        audience=cast(Audience, audience),
        languages=tuple(languages),
        questions=tuple(questions),
        trigger=cast(Trigger, trigger),
        expires_days=cast(int, expires_days),
        reminder_days=reminder_days,
        anonymous=anonymous,
    )


def _languages(raw: Any, problems: _Problems) -> list[str]:
    if not isinstance(raw, list) or not raw:
        problems.add(("languages",), "list the survey's languages, e.g. [pl, en]")
        return []
    languages: list[str] = []
    for index, code in enumerate(raw):
        if not isinstance(code, str) or not LANGUAGE.fullmatch(code):
            problems.add(("languages", index), f"{code!r} is not a language code such as pl or en")
        elif code in languages:
            problems.add(("languages", index), f"the language '{code}' is listed twice")
        else:
            languages.append(code)
    return languages


def _texts(
    raw: Any, loc: Loc, languages: list[str], problems: _Problems, *, what: str
) -> dict[str, str] | None:
    """A text in every language; a missing translation names the question and the language."""
    if isinstance(raw, str) and len(languages) == 1:
        raw = {languages[0]: raw}
    if not isinstance(raw, dict):
        problems.add(loc, f"give {what} as an object of language: text, e.g. {{en: ...}}")
        return None
    texts: dict[str, str] = {}
    for language in languages:
        value = raw.get(language)
        if not isinstance(value, str) or not value.strip():
            problems.add((*loc, language), f"{what} has no translation into '{language}'; add one")
        elif len(value) > MAX_TEXT:
            problems.add((*loc, language), f"{what} is over {MAX_TEXT} characters")
        else:
            texts[language] = value.strip()
    for extra in sorted(set(map(str, raw)) - set(languages)):
        problems.add((*loc, extra), f"'{extra}' is not one of the survey's languages")
    return texts if len(texts) == len(languages) else None


def _headline(kind: str, raw: Any, languages: list[str], problems: _Problems) -> Question | None:
    defaults = DEFAULT_HEADLINES[kind]
    given = raw if isinstance(raw, dict) else ({} if raw is None else raw)
    if isinstance(given, dict):
        given = {lang: given.get(lang, defaults.get(lang)) for lang in languages} | {
            k: v for k, v in given.items() if k not in languages
        }
    texts = _texts(
        given, ("question",), languages, problems, what=f"the headline question '{HEADLINE}'"
    )
    low, high = SCALES[kind]
    if texts is None:
        return None
    return Question(id=HEADLINE, type="scale", text=texts, required=True, min=low, max=high)


def _question(raw: Any, loc: Loc, languages: list[str], problems: _Problems) -> Question | None:
    if not isinstance(raw, dict):
        problems.add(loc, "a question is an object with id, type and text")
        return None
    qid = raw.get("id")
    if not isinstance(qid, str) or not QUESTION_ID.fullmatch(qid):
        problems.add((*loc, "id"), f"{qid!r} is not a question id: a-z, 0-9 and _ (max 60)")
        return None
    if qid == HEADLINE:
        problems.add((*loc, "id"), f"'{HEADLINE}' is the headline question's id; pick another")
        return None
    qtype = raw.get("type")
    if qtype not in QUESTION_TYPES:
        problems.add((*loc, "type"), f"question '{qid}': {qtype!r} is not scale, choice or text")
        return None
    allowed = {"id", "type", "text", "required"} | (
        {"min", "max"}
        if qtype == "scale"
        else {"options", "multiple"}
        if qtype == "choice"
        else set()
    )
    for key in sorted(set(map(str, raw)) - allowed):
        problems.add((*loc, key), f"question '{qid}': unknown field for a {qtype} question")
    texts = _texts(raw.get("text"), (*loc, "text"), languages, problems, what=f"question '{qid}'")
    required = raw.get("required", False)
    if not isinstance(required, bool):
        problems.add((*loc, "required"), f"question '{qid}': required must be true or false")
        required = False
    low = high = None
    options: list[Option] = []
    multiple = False
    if qtype == "scale":
        low, high = raw.get("min", 1), raw.get("max", 5)
        if not _is_int(low) or not _is_int(high) or not -100 <= low < high <= 100:
            problems.add(
                (*loc, "min"),
                f"question '{qid}': min and max must be whole numbers with min < max "
                f"(from -100 to 100), not {low!r} and {high!r}",
            )
    elif qtype == "choice":
        multiple = raw.get("multiple", False)
        if not isinstance(multiple, bool):
            problems.add((*loc, "multiple"), f"question '{qid}': multiple must be true or false")
        options = _options(raw.get("options"), (*loc, "options"), qid, languages, problems)
    if texts is None:
        return None
    return Question(
        id=qid,
        type=qtype,
        text=texts,
        required=required,
        min=low,
        max=high,
        options=tuple(options),
        multiple=bool(multiple),
    )


def _options(
    raw: Any, loc: Loc, qid: str, languages: list[str], problems: _Problems
) -> list[Option]:
    if not isinstance(raw, list) or len(raw) < 2:
        problems.add(loc, f"question '{qid}': a choice needs a list of at least two options")
        return []
    options: list[Option] = []
    for index, item in enumerate(raw):
        if not isinstance(item, dict) or not isinstance(item.get("id"), str):
            problems.add((*loc, index), f"question '{qid}': an option is {{id, label}}")
            continue
        oid = item["id"]
        if not QUESTION_ID.fullmatch(oid):
            problems.add((*loc, index, "id"), f"question '{qid}': {oid!r} is not an option id")
            continue
        if any(o.id == oid for o in options):
            problems.add((*loc, index, "id"), f"question '{qid}': option '{oid}' is listed twice")
            continue
        label = _texts(
            item.get("label"),
            (*loc, index, "label"),
            languages,
            problems,
            what=f"option '{oid}' of question '{qid}'",
        )
        if label is not None:
            options.append(Option(id=oid, label=label))
    return options


def _trigger(
    raw: Any,
    touchpoints: Collection[str] | None,
    segments: Collection[str] | None,
    problems: _Problems,
) -> Trigger | None:
    if raw == "manual" or raw == {"manual": True}:
        return Trigger("manual")
    if not isinstance(raw, dict) or len(raw) != 1:
        problems.add(
            ("trigger",),
            "the trigger is one of {after_touchpoint: <touchpoint id>}, {segment: <name>} "
            "or {manual: true}",
        )
        return None
    ((key, value),) = raw.items()
    if key not in ("after_touchpoint", "segment") or not isinstance(value, str) or not value:
        problems.add(
            ("trigger", str(key)),
            "the trigger is one of {after_touchpoint: <touchpoint id>}, {segment: <name>} "
            "or {manual: true}",
        )
        return None
    if key == "after_touchpoint":
        if touchpoints is None:
            problems.add(
                ("trigger", key),
                f"no journey map is saved, so there is no touchpoint '{value}'; "
                "save the journey map first (PUT /api/journey)",
            )
            return None
        if value not in touchpoints:
            problems.add(
                ("trigger", key),
                f"the journey map has no touchpoint '{value}'; "
                f"its touchpoints are {', '.join(sorted(touchpoints))}",
            )
            return None
        return Trigger("after_touchpoint", value)
    if segments is not None and value not in segments:
        known = f"the segments are {', '.join(sorted(segments))}" if segments else "none exist"
        problems.add(
            ("trigger", key),
            f"there is no segment '{value}' ({known}); create it first "
            "(POST /api/segments or cxm segments create)",
        )
        return None
    return Trigger("segment", value)


def _days(raw: Any, loc: Loc, problems: _Problems, *, minimum: int) -> int | None:
    if not _is_int(raw) or not minimum <= raw <= 3650:
        problems.add(loc, f"{raw!r} is not a whole number of days from {minimum} to 3650")
        return None
    return int(raw)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
