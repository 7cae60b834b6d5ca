"""Survey types: definitions and their questions, invitations, responses, errors and events."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Literal

from cxm.domain_events import DomainEvent
from cxm.errors import CxmError, InvalidInput, NotFound

SurveyKind = Literal["nps", "csat", "ces", "custom"]
Audience = Literal["customer", "employee"]
QuestionType = Literal["scale", "choice", "text"]

HEADLINE = "score"
"""The id of a survey's headline question (the NPS, CSAT or CES score)."""

SCALES: dict[str, tuple[int, int]] = {"nps": (0, 10), "csat": (1, 5), "ces": (1, 7)}
"""The headline scale of each standard kind (CES 2.0: 1 strongly disagree … 7 strongly agree)."""

# The standard wording of each kind's headline question, used for a language the definition
# gives no text for. CES is the CES 2.0 agreement statement.
DEFAULT_HEADLINES: dict[str, dict[str, str]] = {
    "nps": {
        "en": "How likely are you to recommend us to a friend or colleague?",
        "pl": "Jak bardzo prawdopodobne jest, że polecisz nas znajomemu lub współpracownikowi?",
        "ru": "Насколько вероятно, что вы порекомендуете нас другу или коллеге?",
    },
    "csat": {
        "en": "How satisfied are you with the service you received?",
        "pl": "Jak bardzo jesteś zadowolony z otrzymanej obsługi?",
        "ru": "Насколько вы удовлетворены полученным обслуживанием?",
    },
    "ces": {
        "en": "The company made it easy for me to handle my issue.",
        "pl": "Firma ułatwiła mi załatwienie mojej sprawy.",
        "ru": "Компания облегчила мне решение моего вопроса.",
    },
}


class SurveyDefinitionInvalid(InvalidInput):
    """A survey definition broke one or more rules; ``errors`` lists every problem."""

    code = "invalid_survey"


class InvitationInvalid(NotFound):
    """The token is not one cxm signed (mistyped, cut short or forged)."""

    code = "invitation_invalid"


class InvitationExpired(CxmError, ValueError):
    """The invitation was real but its time to answer is over."""

    code = "invitation_expired"
    http_status = 410


@dataclass(frozen=True)
class Option:
    id: str
    label: dict[str, str]


@dataclass(frozen=True)
class Question:
    """One question; ``text`` (and each option's label) holds every language of the survey."""

    id: str
    type: QuestionType
    text: dict[str, str]
    required: bool = False
    min: int | None = None
    max: int | None = None
    options: tuple[Option, ...] = ()
    multiple: bool = False

    def in_language(self, language: str) -> dict[str, Any]:
        shown: dict[str, Any] = {
            "id": self.id,
            "type": self.type,
            "text": self.text[language],
            "required": self.required,
        }
        if self.type == "scale":
            shown |= {"min": self.min, "max": self.max}
        if self.type == "choice":
            shown |= {
                "multiple": self.multiple,
                "options": [{"id": o.id, "label": o.label[language]} for o in self.options],
            }
        return shown


@dataclass(frozen=True)
class Trigger:
    """When invitations go out: after a journey touchpoint, to a segment, or by hand."""

    type: Literal["after_touchpoint", "segment", "manual"]
    value: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"manual": True} if self.type == "manual" else {self.type: self.value}


@dataclass(frozen=True)
class SurveyDefinition:
    id: str
    name: str
    kind: SurveyKind
    audience: Audience
    languages: tuple[str, ...]
    questions: tuple[Question, ...]  # the headline first (custom surveys have none)
    trigger: Trigger
    expires_days: int
    reminder_days: int | None
    anonymous: bool

    @property
    def headline(self) -> Question | None:
        first = self.questions[0] if self.questions else None
        return first if first is not None and first.id == HEADLINE else None

    def question(self, question_id: str) -> Question | None:
        return next((q for q in self.questions if q.id == question_id), None)

    def in_language(self, language: str) -> list[dict[str, Any]]:
        return [q.in_language(language) for q in self.questions]

    def to_dict(self) -> dict[str, Any]:
        """The definition in the form it is written (headline text under ``question``)."""
        headline = self.headline
        data: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "kind": self.kind,
            "audience": self.audience,
            "languages": list(self.languages),
        }
        if headline is not None:
            data["question"] = dict(headline.text)
        data["questions"] = [_question_dict(q) for q in self.questions if q is not headline]
        data |= {
            "trigger": self.trigger.to_dict(),
            "expires_days": self.expires_days,
            "reminder_days": self.reminder_days,
            "anonymous": self.anonymous,
        }
        return data


def _question_dict(q: Question) -> dict[str, Any]:
    data: dict[str, Any] = {"id": q.id, "type": q.type, "text": dict(q.text)}
    data["required"] = q.required
    if q.type == "scale":
        data |= {"min": q.min, "max": q.max}
    if q.type == "choice":
        data["multiple"] = q.multiple
        data["options"] = [{"id": o.id, "label": dict(o.label)} for o in q.options]
    return data


@dataclass(frozen=True)
class StoredSurvey:
    definition: SurveyDefinition
    version: int
    created_at: datetime
    actor: str


@dataclass(frozen=True)
class Invitation:
    id: str
    survey_id: str
    version: int
    profile_id: str | None
    department: str | None
    touchpoint: str | None
    case_ref: str | None
    language: str
    status: str  # sent, answered, expired, suppressed
    reason: str | None
    created_at: datetime
    expires_at: datetime | None
    remind_at: datetime | None
    reminded_at: datetime | None
    answered_at: datetime | None
    event_seq: int | None = None  # the touchpoint event that triggered it
    reminder_delivery: str | None = None  # pending (recorded, not delivered yet), later more

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class InviteOutcome:
    """What happened to one invitation asked for: ``sent`` with a token, or refused and why."""

    profile_id: str | None
    department: str | None
    status: Literal["sent", "suppressed", "rejected"]
    invitation_id: str | None = None
    token: str | None = None
    expires_at: datetime | None = None
    reason: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "profile_id": self.profile_id,
            "department": self.department,
            "status": self.status,
            "invitation_id": self.invitation_id,
            "token": self.token,
            "expires_at": self.expires_at,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class SurveyResponse:
    id: int
    survey_id: str
    version: int
    profile_id: str | None
    department: str | None
    touchpoint: str | None
    case_ref: str | None
    language: str
    score: float | None
    comment: str | None
    answers: dict[str, Any] = field(default_factory=dict)
    answered_at: datetime | None = None


@dataclass(frozen=True)
class SurveySaved(DomainEvent):
    name: ClassVar[str] = "survey-saved"
    survey: str
    version: int


@dataclass(frozen=True)
class SurveyInvitationSent(DomainEvent):
    name: ClassVar[str] = "survey-invitation-sent"
    survey: str
    invitation: str
    profile_id: str | None
    department: str | None


@dataclass(frozen=True)
class SurveyAnswered(DomainEvent):
    name: ClassVar[str] = "survey-answered"
    survey: str
    response: int
    profile_id: str | None
    score: float | None


@dataclass(frozen=True)
class SurveyReminderSent(DomainEvent):
    """A reminder is due and recorded; delivering it (e-mail) is for a listener to do."""

    name: ClassVar[str] = "survey-reminder-sent"
    survey: str
    invitation: str
    profile_id: str | None
    department: str | None
    language: str
    expires_at: datetime | None
