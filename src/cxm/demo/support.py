"""A customer's problems with the demo company, what each one costs them, and what they answer.

An incident is raised in one channel, perhaps taken to another, perhaps fixed on site; the
broken journey is the hard case (branch → IVR → call centre, transferred → technician, each
asking for the same data again). Every step is tallied in an :class:`~cxm.demo.effort.Effort`,
and the survey answers afterwards (CES 2.0, CSAT) are drawn from that tally, so the demo's
answers agree with its behaviour the way real ones roughly do.

``CustomerSupport`` is the base of :class:`cxm.demo.lifecycle.CustomerYear`: it holds the
customer's calendar and their support history; the lifecycle adds everything else.
"""

from __future__ import annotations

import random

from cxm.demo import notes
from cxm.demo.effort import Effort, ces_score, csat_score
from cxm.demo.people import Persona
from cxm.demo.recorder import DAY, HOUR, MINUTE
from cxm.demo.touchpoints import Touchpoints

YEAR = 365 * DAY
TRANSFER_RATE = 0.1  # phone calls handed to another department
TECHNICIAN_ASKS_RATE = 0.25  # technicians who ask for the customer number and address again
# Who answers a survey after an incident (exclusive: one survey per incident at most).
CES_RATE = 0.3
CSAT_RATE = 0.12
BROKEN_CES_RATE = 0.45
BROKEN_CSAT_RATE = 0.25
COMMENT_RATE = 0.5
# The journey map's touchpoint where the customer dealt with the matter in each channel.
CHANNEL_TOUCHPOINT = {
    "phone": "calls",
    "email": "email-support",
    "chat": "live-chat",
    "branch": "branch-issue",
    "social": "social-posts",
    "field_service": "repair",
}
TRANSFER_DEPARTMENTS = (
    "Rozliczenia",
    "Wsparcie techniczne",
    "Reklamacje",
    "Retencja",
    "Serwis terenowy",
)
SURVEYS = {"nps": "relationship_nps", "csat": "contact_csat", "ces": "contact_ces"}


class CustomerSupport:
    """One customer's calendar and support history inside ``[start_ms, end_ms)``.

    ``incidents`` collects the effort of each incident in the order they were planned.
    """

    def __init__(self, tp: Touchpoints, p: Persona, *, start_ms: int, end_ms: int) -> None:
        self.tp = tp
        self.rng = tp.rng
        self.answers = tp.survey_rng  # surveys draw apart, so their model moves nothing else
        self.p = p
        self.start_ms = start_ms
        self.end_ms = end_ms
        self.active: list[tuple[int, int]] = [(p.join_ms or start_ms, p.churn_ms or end_ms)]
        self.social_linked = False
        self.incidents: list[Effort] = []
        # The marketing campaign draws apart too (cxm.demo.lifecycle.CustomerYear.campaign_offer).
        self.campaign_rng = random.Random(f"demo-campaign:{p.key}")
        self.campaigned = False
        self.consented = False

    # time ----------------------------------------------------------------------------------
    def _poisson_times(self, per_year: float) -> list[int]:
        """Moments of a Poisson process with ``per_year`` rate over the active intervals."""
        rng = self.rng
        times: list[int] = []
        for lo, hi in self.active:
            if per_year <= 0:
                break
            at = lo + int(rng.expovariate(per_year) * YEAR)
            while at < hi:
                times.append(self._daytime(at))
                at += int(rng.expovariate(per_year) * YEAR)
        return times

    def _daytime(self, at: int, first_hour: int = 6, last_hour: int = 21) -> int:
        """``at``'s day at a waking hour (UTC, Poland is UTC+1/+2)."""
        day = at - at % DAY
        return day + self.rng.randint(first_hour * HOUR, last_hour * HOUR)

    def _later(self, at: int, min_days: float, max_days: float) -> int:
        return self._daytime(at + int(self.rng.uniform(min_days, max_days) * DAY), 7, 18)

    def effort_before(self, at: int) -> float:
        """The effort points of the incidents resolved before ``at``."""
        return sum(e.points for e in self.incidents if e.end < at)

    # incidents -----------------------------------------------------------------------------
    def incident(self, at: int, topic: str) -> int:
        """A problem raised in one channel, perhaps escalated to another, perhaps fixed on site.

        Returns when the customer last dealt with it.
        """
        tp, p, rng = self.tp, self.p, self.rng
        effort = Effort(topic=topic, start=at, until=self.end_ms)
        first = self._contact_channel()
        at = self.contact(first, at, topic, effort)
        if topic == "praise":
            return at  # a compliment, not a problem: no effort, no survey
        self.incidents.append(effort)
        if topic == "question":
            self.after_contact_survey(effort, at)
            return at
        if topic == "outage" and rng.random() < 0.5:
            # The outage notice; some answer it with what they think of the outage.
            reply = "outage" if rng.random() < 0.3 else None
            tp.sms(p, at + rng.randint(1, 6) * HOUR, "outage_notice", reply_topic=reply)
        if rng.random() < 0.35:
            other = self._contact_channel(avoid=first)
            at = self.contact(other, self._later(at, 1, 4), topic, effort)
        praised = False
        if topic in ("outage", "slow_speed") and rng.random() < 0.35:
            at = self.technician_visit(self._later(at, 2, 6), effort)
            if rng.random() < 0.25:
                praised = self.praise_technician(self._later(at, 0, 2))
        if not praised:
            self.after_contact_survey(effort, at)
        return at

    def technician_visit(self, at: int, effort: Effort, *, case_ref: str | None = None) -> int:
        asks = case_ref is not None or self.rng.random() < TECHNICIAN_ASKS_RATE
        end = self.tp.technician(self.p, at, ask_data=asks, case_ref=case_ref)
        effort.step(
            "field_service",
            at,
            end,
            touchpoint=CHANNEL_TOUCHPOINT["field_service"],
            contact=False,
            handoff=True,
            data_requests=int(asks),
        )
        return end

    def _contact_channel(self, avoid: str | None = None) -> str:
        p, rng = self.p, self.rng
        weights = {
            "phone": 0.15 + 0.45 * (1 - p.digital),
            "email": 0.05 + 0.2 * p.digital,
            "chat": 0.3 * p.digital,
            "branch": 0.12,
            "social": 0.2 if p.social_handle and p.quirk != "social_only" else 0.0,
        }
        if avoid:
            weights[avoid] = 0.0
        roll = rng.random() * sum(weights.values())
        for channel, weight in weights.items():
            roll -= weight
            if roll < 0:
                return channel
        return "phone"

    def contact(self, channel: str, at: int, topic: str, effort: Effort | None = None) -> int:
        """The customer gets in touch about ``topic``; returns when the contact ended."""
        tp, p, rng = self.tp, self.p, self.rng
        start, asked, transferred = at, 0, False
        if channel == "phone":
            ivr_asks = rng.random() < 0.3
            at = tp.ivr(p, at, topic, ask_data=ivr_asks)
            call_asks = rng.random() < 0.3
            transfer = None
            if rng.random() < TRANSFER_RATE:
                queue = notes.TOPIC_DEPARTMENT.get(topic, "Obsługa klienta")
                transfer = rng.choice([d for d in TRANSFER_DEPARTMENTS if d != queue])
            end = tp.call(p, at, topic, ask_data=call_asks, transfer_to=transfer)
            asked, transferred = ivr_asks + call_asks, transfer is not None
        elif channel == "email":
            end = tp.email(p, at, topic)
        elif channel == "chat":
            end = tp.chat(p, at, topic)
        elif channel == "social":
            end = self.social(at, topic)
        else:
            start = self._daytime(at, 8, 18)
            end = tp.branch_visit(p, start, issue=topic)
        if effort is not None:
            effort.step(
                channel,
                start,
                end,
                touchpoint=CHANNEL_TOUCHPOINT[channel],
                handoff=transferred,
                data_requests=asked,
            )
        return end

    def social(self, at: int, topic: str) -> int:
        share = not self.social_linked and self.p.quirk != "social_only"
        at, shared = self.tp.social_post(self.p, at, topic, share_email=share)
        self.social_linked = self.social_linked or shared
        return at

    def praise_technician(self, at: int) -> bool:
        """A thank-you for the technician; True when it was a survey answer."""
        p = self.p
        if p.social_handle and p.quirk != "social_only" and self.rng.random() < 0.5:
            self.social(at, "technician_praise")
            return False
        self.survey(at, "csat", 5, touchpoint=CHANNEL_TOUCHPOINT["field_service"], comment=True)
        return True

    # surveys -------------------------------------------------------------------------------
    def after_contact_survey(
        self, effort: Effort, at: int, *, ces_rate: float = CES_RATE, csat_rate: float = CSAT_RATE
    ) -> None:
        """Perhaps a CES or CSAT answer about the incident, a few hours after it."""
        answers = self.answers
        roll = answers.random()
        if roll < ces_rate:
            kind, score = "ces", ces_score(answers, effort)
        elif roll < ces_rate + csat_rate:
            kind, score = "csat", csat_score(answers, effort)
        else:
            return
        when = at + answers.randint(1, 30) * HOUR
        self.survey(when, kind, score, touchpoint=effort.touchpoint, case=effort.case)

    def survey(
        self,
        at: int,
        kind: str,
        score: int,
        *,
        touchpoint: str | None = None,
        case: str | None = None,
        comment: bool | None = None,
    ) -> None:
        if comment is None:
            comment = self.answers.random() < COMMENT_RATE
        self.tp.survey(
            self.p,
            at,
            survey=SURVEYS[kind],
            kind=kind,
            score=score,
            comment=comment,
            touchpoint=touchpoint,
            case=case,
            rng=self.answers,
        )

    # the hard case -------------------------------------------------------------------------
    def broken_journey(self) -> None:
        """Branch → IVR → call centre (transferred) → technician, each asking for data again."""
        tp, p, rng = self.tp, self.p, self.rng
        lo, hi = self.active[0]
        lo, hi = max(lo, self.start_ms) + 2 * DAY, hi - 25 * DAY
        if p.churn_driver == "broken_journey" and p.churn_ms is not None:
            lo = max(lo, p.churn_ms - 60 * DAY)  # the journey they leave over, weeks before
        if hi <= lo:
            p.broken_journey = False
            return
        topic = rng.choice(("outage", "slow_speed", "outage"))
        at = self._daytime(rng.randint(lo, hi), 8, 17)
        case = tp.new_case_ref(at)
        effort = Effort(topic=topic, start=at, until=self.end_ms, case=case, broken_journey=True)
        self.incidents.append(effort)
        second_call = rng.random() < 0.5
        # Each silo keeps the case reference or loses it: at least one keeps it, never all.
        steps = 4 if second_call else 3
        keeps = [rng.random() < 0.4 for _ in range(steps)]
        keeps[rng.randrange(steps)] = True
        if all(keeps):
            keeps[rng.randrange(steps)] = False
        refs = [case if keep else None for keep in keeps]
        end = tp.branch_visit(p, at, issue=topic, case_ref=refs[0])
        effort.step("branch", at, end, touchpoint=CHANNEL_TOUCHPOINT["branch"])
        at = self._later(end, 1, 3)
        end = tp.ivr(p, at, topic, ask_data=True)
        transfer = "Serwis terenowy"
        end = tp.call(p, end, topic, ask_data=True, transfer_to=transfer, case_ref=refs[1])
        effort.step(
            "phone", at, end, touchpoint=CHANNEL_TOUCHPOINT["phone"], handoff=True, data_requests=2
        )
        if second_call:
            at = self._later(end, 0.5, 2)
            end = tp.call(p, at, "repeated_questions", ask_data=True, case_ref=refs[2])
            effort.step("phone", at, end, touchpoint=CHANNEL_TOUCHPOINT["phone"], data_requests=1)
        at = self._later(end, 2, 6)
        visit = refs[-1]
        end = tp.technician(p, at, ask_data=True, case_ref=visit)
        effort.step(
            "field_service",
            at,
            end,
            touchpoint=CHANNEL_TOUCHPOINT["field_service"],
            contact=False,
            handoff=True,
            data_requests=1,
        )
        resolved = {"resolution": "fixed_on_site"}
        if visit:
            resolved["case_ref"] = case
        tp.field_event(p, end + 10 * MINUTE, "Case Resolved", resolved)
        later = self._later(end, 1, 5)
        self.after_contact_survey(
            effort, later, ces_rate=BROKEN_CES_RATE, csat_rate=BROKEN_CSAT_RATE
        )
        # Many also say what they think of being asked the same questions four times.
        roll = rng.random()
        if roll < 0.25 and p.social_handle and p.quirk != "social_only":
            self.social(later, "repeated_questions")
            effort.complaint("social", later)
        elif roll < 0.5:
            tp.email(p, later, "repeated_questions")
            effort.complaint("email", later)
