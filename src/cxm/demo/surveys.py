"""The demo company's surveys, saved through cxm's survey service like any workspace's.

Three customer surveys match the answers the demo's events carry (``Survey Answered`` with
``survey`` set to their ids): the relationship NPS, the CSAT after a contact, and the CES 2.0
after a contact. The employee eNPS is sent to departments of the journey map in two waves
and answered anonymously; the departments differ in size and mood, and one (HR) is too small
for its eNPS to be shown (fewer answers than the minimum sample).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from cxm.surveys import do_answer, do_invite_batch, do_save_survey

COMMENT_QUESTION = {
    "id": "comment",
    "type": "text",
    "text": {
        "en": "What is the main reason for your score?",
        "pl": "Jaki jest główny powód Twojej oceny?",
        "ru": "Какова главная причина вашей оценки?",
    },
}
CUSTOMER_SURVEYS: tuple[dict[str, Any], ...] = (
    {
        "id": "relationship_nps",
        "name": "Relationship NPS",
        "kind": "nps",
        "languages": ["pl", "en", "ru"],
        "question": {
            "en": "How likely are you to recommend Vistula Telecom to a friend or colleague?",
            "pl": "Jak bardzo prawdopodobne jest, że polecisz Vistula Telecom znajomemu?",
            "ru": "Насколько вероятно, что вы порекомендуете Vistula Telecom другу или коллеге?",
        },
        "questions": [COMMENT_QUESTION],
        "expires_days": 21,
        "reminder_days": 7,
    },
    {
        "id": "contact_csat",
        "name": "Satisfaction after a contact",
        "kind": "csat",
        "languages": ["pl", "en", "ru"],
        "question": {
            "en": "How satisfied are you with how we handled your matter?",
            "pl": "Jak bardzo jesteś zadowolony z tego, jak załatwiliśmy Twoją sprawę?",
            "ru": "Насколько вы довольны тем, как мы решили ваш вопрос?",
        },
        "questions": [COMMENT_QUESTION],
        "expires_days": 7,
    },
    {
        "id": "contact_ces",
        "name": "Customer effort after a contact (CES 2.0)",
        "kind": "ces",
        "languages": ["pl", "en", "ru"],
        "question": {
            "en": "Vistula Telecom made it easy for me to handle my issue.",
            "pl": "Vistula Telecom ułatwiła mi załatwienie mojej sprawy.",
            "ru": "Vistula Telecom облегчила мне решение моего вопроса.",
        },
        "questions": [COMMENT_QUESTION],
        "expires_days": 7,
    },
)
EMPLOYEE_SURVEY: dict[str, Any] = {
    "id": "employee_enps",
    "name": "Employee NPS",
    "kind": "nps",
    "audience": "employee",
    "anonymous": True,
    "languages": ["pl", "en"],
    "question": {
        "en": "How likely are you to recommend Vistula Telecom as a place to work?",
        "pl": "Jak bardzo prawdopodobne jest, że polecisz Vistula Telecom jako miejsce pracy?",
    },
    "expires_days": 14,
    "reminder_days": 5,
}


@dataclass(frozen=True)
class Team:
    """A department in the eNPS: invited, answering, and its mean score in each wave."""

    department: str
    invited: int
    answered: int
    mean: tuple[float, float]


# The call centre's mood sinks between the waves (it takes the broken journey's calls);
# HR is too small to show (14 answers, under the minimum sample of 30).
TEAMS = (
    Team("call-centre", 140, 118, (6.9, 5.9)),
    Team("field-service", 85, 71, (7.4, 7.6)),
    Team("retail", 70, 57, (7.2, 7.1)),
    Team("network", 45, 38, (8.3, 8.4)),
    Team("it", 40, 34, (8.0, 8.2)),
    Team("hr", 16, 14, (8.6, 8.5)),
)
WAVES = (0.45, 0.85)  # when each wave goes out, as a share of the demo's window
ANSWER_DAYS = 10

# The monthly pulse: the same eNPS question each month to every team big enough for a monthly
# figure (the call centre, field service, retail), answered by a little over half. The call
# centre's mood follows the customer satisfaction (CSAT) of the contacts it owns, month by
# month (PULSE_LINK points of the 0-10 scale per standard deviation of its monthly CSAT); the
# other teams' moods wander independently of their customers. The department view
# (cxm.metrics.departments) should find the first link and none of the others.
PULSE_SURVEY: dict[str, Any] = {
    "id": "employee_pulse",
    "name": "Monthly pulse",
    "kind": "nps",
    "audience": "employee",
    "anonymous": True,
    "languages": ["pl", "en"],
    "question": {
        "en": "This month, how likely are you to recommend your team as a place to work?",
        "pl": "Jak bardzo w tym miesiącu poleciłbyś swój zespół jako miejsce pracy?",
    },
    "expires_days": 10,
}
PULSE_SHARE = 0.55
MIN_PULSE_ANSWERS = 30  # the metrics' minimum sample: smaller teams are not pulsed
PULSE_LINK = 1.2
PULSE_LINKED = "call-centre"


def do_run_pulse(
    *,
    session: Session,
    actor: str,
    months: list[tuple[datetime, float | None]],
    seed: int,
) -> int:
    """Send the monthly pulse to each team and store its answers; returns how many.

    ``months``: each month's first moment and the linked team's CSAT z-score that month (None
    when its CSAT is not known). Invitations go out on the 3rd and are answered within days.
    """
    do_save_survey(session=session, actor=actor, data=PULSE_SURVEY, now=months[0][0])
    rng = random.Random(f"demo-pulse:{seed}")
    answered = 0
    for month, z in months:
        sent_at = month + timedelta(days=2)
        for team in TEAMS:
            if round(team.invited * PULSE_SHARE) < MIN_PULSE_ANSWERS:
                continue  # too small a team for a monthly figure: not pulsed
            base = sum(team.mean) / 2
            if team.department == PULSE_LINKED:
                mood = base + PULSE_LINK * (z or 0.0)
            else:
                mood = base + rng.gauss(0, 0.4)
            outcomes = do_invite_batch(
                session=session,
                actor=actor,
                survey=str(PULSE_SURVEY["id"]),
                departments=[team.department] * team.invited,
                language="pl",
                now=sent_at,
            )
            tokens = [o.token for o in outcomes if o.token is not None]
            for token in rng.sample(tokens, round(team.invited * PULSE_SHARE)):
                score = max(0, min(10, round(rng.gauss(mood, 1.7))))
                at = sent_at + timedelta(hours=rng.uniform(1, 5 * 24))
                do_answer(session=session, token=token, answers={"score": score}, now=at)
                answered += 1
    return answered


def do_save_demo_surveys(*, session: Session, actor: str, now: datetime) -> list[str]:
    """Save the demo's customer surveys and the employee eNPS; returns their ids."""
    saved = []
    for data in (*CUSTOMER_SURVEYS, EMPLOYEE_SURVEY):
        do_save_survey(session=session, actor=actor, data=data, now=now)
        saved.append(str(data["id"]))
    return saved


def do_run_employee_survey(
    *, session: Session, actor: str, start: datetime, end: datetime, seed: int
) -> int:
    """Send the eNPS to each team in two waves and store its answers; returns how many.

    The waves go out inside the demo's window ``[start, end)`` and are answered over the
    following days, so the answers are dated in the demo's year like its events.
    """
    rng = random.Random(f"demo-employees:{seed}")
    answered = 0
    for wave, share in enumerate(WAVES):
        sent_at = start + (end - start) * share
        for team in TEAMS:
            outcomes = do_invite_batch(
                session=session,
                actor=actor,
                survey=str(EMPLOYEE_SURVEY["id"]),
                departments=[team.department] * team.invited,
                language="pl",
                now=sent_at,
            )
            tokens = [o.token for o in outcomes if o.token is not None]
            for token in rng.sample(tokens, team.answered):
                score = max(0, min(10, round(rng.gauss(team.mean[wave], 1.7))))
                at = sent_at + timedelta(hours=rng.uniform(1, ANSWER_DAYS * 24))
                do_answer(session=session, token=token, answers={"score": score}, now=at)
                answered += 1
    return answered
