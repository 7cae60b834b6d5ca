"""Checking a respondent's answers against the survey version they were invited to.

>>> from cxm.surveys.definitions import survey_from_data
>>> survey = survey_from_data({"id": "n", "kind": "nps", "languages": ["en"]})
>>> check_answers(survey, {"score": 9, "extra": 1})
Traceback (most recent call last):
...
cxm.errors.InvalidInput: the survey has no question 'extra'; its questions are score
>>> check_answers(survey, {"score": 9}).score
9.0
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cxm.errors import ErrorDetail, InvalidInput
from cxm.surveys.models import Question, SurveyDefinition

MAX_ANSWER_TEXT = 5000


@dataclass(frozen=True)
class CheckedAnswers:
    answers: dict[str, Any]
    score: float | None
    comment: str | None


def check_answers(survey: SurveyDefinition, answers: Any) -> CheckedAnswers:
    """The answers, checked; raises InvalidInput naming every question answered wrongly."""
    if not isinstance(answers, dict):
        raise InvalidInput(
            'answers are an object of question id: answer, e.g. {"score": 9}',
            errors=[ErrorDetail(("answers",), "expected an object")],
        )
    problems: list[ErrorDetail] = []
    clean: dict[str, Any] = {}
    for key in answers:
        if survey.question(str(key)) is None:
            known = ", ".join(q.id for q in survey.questions)
            problems.append(
                ErrorDetail(
                    ("answers", str(key)),
                    f"the survey has no question '{key}'; its questions are {known}",
                )
            )
    for question in survey.questions:
        value = answers.get(question.id)
        if value is None or value == "" or value == []:
            if question.required:
                problems.append(
                    ErrorDetail(
                        ("answers", question.id),
                        f"question '{question.id}' needs an answer",
                    )
                )
            continue
        message, checked = _check(question, value)
        if message is not None:
            problems.append(ErrorDetail(("answers", question.id), message))
        else:
            clean[question.id] = checked
    if problems:
        raise InvalidInput("; ".join(p.message for p in problems), errors=problems)
    headline = survey.headline
    score = clean.get(headline.id) if headline is not None else None
    comment = next(
        (clean[q.id] for q in survey.questions if q.type == "text" and q.id in clean), None
    )
    return CheckedAnswers(
        answers=clean, score=None if score is None else float(score), comment=comment
    )


def _check(question: Question, value: Any) -> tuple[str | None, Any]:
    name = f"question '{question.id}'"
    if question.type == "scale":
        assert question.min is not None and question.max is not None
        span = f"a whole number from {question.min} to {question.max}"
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            value = int(value.strip())
        if not isinstance(value, int) or isinstance(value, bool):
            return f"{name}: {value!r} is not a score; answer with {span}", None
        if not question.min <= value <= question.max:
            return (
                f"{name}: {value} is outside {question.min}–{question.max}; answer with {span}",
                None,
            )
        return None, value
    if question.type == "choice":
        known = [o.id for o in question.options]
        chosen = value if question.multiple and isinstance(value, list) else [value]
        if not question.multiple and isinstance(value, list):
            return f"{name}: choose one option, not a list", None
        for item in chosen:
            if not isinstance(item, str) or item not in known:
                return (
                    f"{name}: {item!r} is not an option; the options are {', '.join(known)}",
                    None,
                )
        if len(set(chosen)) != len(chosen):
            return f"{name}: an option is chosen twice", None
        return None, list(chosen) if question.multiple else chosen[0]
    if not isinstance(value, str):
        return f"{name}: the answer must be text", None
    if len(value) > MAX_ANSWER_TEXT:
        return f"{name}: the answer is over {MAX_ANSWER_TEXT} characters", None
    if "\x00" in value:
        return f"{name}: the answer contains a NUL character", None
    return None, value.strip()
