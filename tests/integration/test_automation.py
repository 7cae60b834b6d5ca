"""Automation end to end on both stores, against a real SMTP server and a real HTTP receiver:
a rule fires exactly once per trigger; its e-mail is in the customer's language and names
them; its webhook is signed; caps, quiet hours and withdrawn consent hold; a failing webhook
is retried with backoff and dead-lettered after the limit; a job whose worker died is run
again; history does not trigger anything."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from sqlalchemy import func, select, update

from cxm.audit import list_actions
from cxm.automation import RuleInvalid, do_retry_job, do_save_rule, get_rule
from cxm.automation.campaigns import rule_uplift
from cxm.automation.dispatch import claim
from cxm.automation.tables import automation_firings, automation_jobs, automation_messages
from cxm.cases import get_case
from cxm.ingest.tables import events
from cxm.journeys.map import telecom_yaml
from cxm.journeys.service import do_save_journey_map
from cxm.segments import do_save_segment
from cxm.surveys import do_save_survey
from cxm.surveys.tables import survey_invitations
from cxm.text.tables import text_items
from cxm.workspace import Workspace
from helpers import journeys_for
from receivers import HttpSink, SmtpSink
from text_corpus import THEMES

# A Monday 10:00 in Warsaw (09:00 UTC): inside business hours.
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def smtp() -> Iterator[SmtpSink]:
    sink = SmtpSink().start()
    yield sink
    sink.stop()


@pytest.fixture
def hook() -> Iterator[HttpSink]:
    sink = HttpSink().start()
    yield sink
    sink.stop()


@pytest.fixture
def ws(workspace: Workspace, smtp: SmtpSink) -> Workspace:
    workspace.settings.smtp_host = "127.0.0.1"
    workspace.settings.smtp_port = smtp.port
    workspace.settings.smtp_from = "Vistula <pomoc@vistula.pl>"
    workspace.settings.automation_max_attempts = 3
    workspace.settings.automation_retry_base_s = 30
    with workspace.session() as s:
        do_save_journey_map(session=s, source=telecom_yaml(), actor="test",
                            filename="telecom.yaml")  # fmt: skip
    return workspace


def at(minutes: float = 0) -> str:
    return (NOW + timedelta(minutes=minutes)).isoformat()


def people() -> dict[str, list[dict[str, Any]]]:
    return {
        "ania": [
            {"type": "identify", "at": at(-600), "traits": {
                "email": "ania@example.pl", "firstName": "Ania", "language": "pl",
                "plan": "fibre"}},
            {"event": "Complaint Submitted", "channel": "web", "at": at(-5),
             "properties": {"subject": "Brak internetu"}},
        ],
        "john": [
            {"type": "identify", "at": at(-600), "traits": {
                "email": "john@example.com", "firstName": "John", "language": "en",
                "plan": "fibre"}},
            {"event": "Complaint Submitted", "channel": "web", "at": at(-4)},
        ],
        "bartek": [
            {"type": "identify", "at": at(-600), "traits": {
                "email": "bartek@example.ru", "firstName": "Бартек", "locale": "ru-RU",
                "plan": "fibre"}},
            {"event": "Consent Withdrawn", "channel": "web", "at": at(-300),
             "properties": {"purpose": "service"}},
            {"event": "Complaint Submitted", "channel": "web", "at": at(-3)},
        ],
        "celina": [  # not on fibre: the conditions leave her out
            {"type": "identify", "at": at(-600), "traits": {"email": "c@example.pl",
                                                            "plan": "mobile"}},
            {"event": "Complaint Submitted", "channel": "web", "at": at(-2)},
        ],
    }  # fmt: skip


def rule(hook_url: str, **extra: Any) -> dict[str, Any]:
    return {
        "name": "complaint-follow-up",
        "trigger": {"event": "Complaint Submitted"},
        "conditions": {"traits": {"plan": "fibre"}},
        "actions": [
            {"email": {
                "subject": {"pl": "Przepraszamy, {{ first_name }}", "en": "Sorry, {{ first_name }}",
                            "ru": "Извините, {{ first_name }}"},
                "body": {"pl": "Dzień dobry {{ first_name }}, zajmujemy się zgłoszeniem.",
                         "en": "Hello {{ first_name }}, we are on it ({{ event.name }}).",
                         "ru": "Здравствуйте, {{ first_name }}!"}}},
            {"webhook": {"url": hook_url + "/hooks/cxm"}},
            {"case": {"title": "Call back {{ first_name }}", "department": "customer-success",
                      "priority": "high"}},
            {"nudge": {"message": {"pl": "Oddzwonimy dziś", "en": "We will call you today"}}},
        ],
        **extra,
    }  # fmt: skip


def jobs(ws: Workspace) -> list[Any]:
    with ws.session() as s:
        return list(s.execute(select(automation_jobs).order_by(automation_jobs.c.id)).all())


def test_a_rule_fires_once_per_trigger_in_the_customers_language(
    ws: Workspace, smtp: SmtpSink, hook: HttpSink
) -> None:
    ids = journeys_for(ws, people())
    with ws.session() as s:
        do_save_rule(session=s, actor="test", data=rule(hook.url))
    report = ws.automation.run_once(now=NOW)
    # Ania and John; Bartek withdrew consent (suppressed), Celina is not on fibre (skipped).
    assert (report["fired"], report["suppressed"]) == (2, 1)
    assert report["done"] == 8 and report["dead"] == 0
    mails = {m["To"]: m for m in smtp.messages}
    assert set(mails) == {"ania@example.pl", "john@example.com"}
    assert mails["ania@example.pl"]["Subject"] == "Przepraszamy, Ania"
    assert "Dzień dobry Ania" in mails["ania@example.pl"].get_payload(decode=True).decode()
    assert mails["john@example.com"]["Subject"] == "Sorry, John"
    assert "(Complaint Submitted)" in mails["john@example.com"].get_payload(decode=True).decode()
    assert mails["john@example.com"]["Message-ID"].startswith("<cxm-job-")
    # The webhook is signed: the receiver recomputes the signature with the shared secret.
    assert len(hook.received) == 2
    call = hook.received[0]
    expected = hmac.new(ws.automation.webhook_secret,
                        call.headers["x-cxm-timestamp"].encode() + b"." + call.body,
                        hashlib.sha256).hexdigest()  # fmt: skip
    assert call.headers["x-cxm-signature"] == f"sha256={expected}"
    assert call.headers["idempotency-key"].startswith("cxm-job-")
    assert orjson.loads(call.body)["rule"] == "complaint-follow-up"
    with ws.session() as s:
        firings = s.execute(select(automation_firings)).all()
        by_profile = {f.profile_id: f for f in firings}
        assert by_profile[ids["bartek"]].status == "suppressed"
        assert "withdrew consent" in by_profile[ids["bartek"]].reason
        assert ids["celina"] not in by_profile
        case_job = next(j for j in jobs(ws) if j.kind == "case" and j.profile_id == ids["ania"])
        case = get_case(s, orjson.loads(case_job.result)["case"])
        assert case.title == "Call back Ania" and case.priority == "high"
        assert case.department == "customer-success" and case.origin == "api"
        nudges = s.execute(select(automation_messages.c.message, automation_messages.c.language))
        assert sorted(nudges.all()) == [("Oddzwonimy dziś", "pl"), ("We will call you today", "en")]
        fired = [a for a in list_actions(s, limit=100) if a.action.startswith("automation.")]
        assert {a.action for a in fired} >= {"automation.fire", "automation.suppress"}
    # Running again, or running the same events again, sends nothing more.
    again = ws.automation.run_once(now=NOW + timedelta(minutes=1))
    assert again["fired"] == 0 and again["done"] == 0
    assert len(smtp.messages) == 2 and len(hook.received) == 2


def test_caps_quiet_hours_and_consent_withdrawn_before_sending(
    ws: Workspace, smtp: SmtpSink, hook: HttpSink
) -> None:
    night = datetime(2026, 3, 2, 21, 30, tzinfo=UTC)  # 22:30 in Warsaw
    limited = rule(hook.url, limits={"per_customer": {"count": 1, "days": 7},
                                     "quiet_hours": {"start": "21:00", "end": "08:00",
                                                     "timezone": "Europe/Warsaw"}})  # fmt: skip
    with ws.session() as s:
        do_save_rule(session=s, actor="test", data=limited)
    two = {
        "ania": people()["ania"] + [
            {"event": "Complaint Submitted", "channel": "web",
             "at": (night - timedelta(minutes=2)).isoformat()},
        ],
        "john": people()["john"][:1] + [
            {"event": "Complaint Submitted", "channel": "web",
             "at": (night - timedelta(minutes=1)).isoformat()},
        ],
    }  # fmt: skip
    ids = journeys_for(ws, two)
    report = ws.automation.run_once(now=night)
    # Ania's two complaints: the second is over the cap. Both fired ones wait for the morning.
    assert (report["fired"], report["suppressed"]) == (2, 1)
    assert report["done"] == 0 and not smtp.messages and not hook.received
    with ws.session() as s:
        reasons = [r for (r,) in s.execute(select(automation_firings.c.reason)) if r]
        assert any("frequency cap" in r for r in reasons)
        deferred = {d for (d,) in s.execute(select(automation_firings.c.deferred_to)) if d}
        assert deferred == {datetime(2026, 3, 3, 7, 0, tzinfo=UTC)}  # 08:00 in Warsaw
    # Before morning, John withdraws consent: his contacting actions are not sent.
    journeys_for(ws, {"john": [{"event": "Consent Withdrawn", "channel": "web",
                                "at": (night + timedelta(hours=1)).isoformat(),
                                "properties": {"purpose": "service"}}]}, source="late")  # fmt: skip
    ws.automation.run_once(now=night + timedelta(hours=2))
    assert not smtp.messages
    morning = ws.automation.run_once(now=datetime(2026, 3, 3, 7, 1, tzinfo=UTC))
    assert [m["To"] for m in smtp.messages] == ["ania@example.pl"]
    assert morning["cancelled"] == 2  # John's e-mail and in-app message
    statuses = {(j.profile_id, j.kind): j.status for j in jobs(ws)}
    assert statuses[(ids["john"], "email")] == "cancelled"
    assert statuses[(ids["john"], "webhook")] == "done"  # not contacting the customer
    assert len(hook.received) == 2


def test_a_failing_webhook_is_retried_then_dead_lettered_and_retried_by_hand(
    ws: Workspace, hook: HttpSink
) -> None:
    journeys_for(ws, {"ania": people()["ania"]})
    data = rule(hook.url)
    data["actions"] = [data["actions"][1]]  # the webhook only
    with ws.session() as s:
        do_save_rule(session=s, actor="test", data=data)
    hook.default = 503
    ws.automation.run_once(now=NOW)
    (job,) = jobs(ws)
    assert job.status == "failed" and job.attempts == 1
    assert job.due_at == NOW + timedelta(seconds=30)  # the first wait
    ws.automation.run_once(now=NOW + timedelta(seconds=20))  # not due yet
    assert jobs(ws)[0].attempts == 1
    ws.automation.run_once(now=NOW + timedelta(seconds=31))
    (job,) = jobs(ws)
    assert job.status == "failed" and job.due_at == NOW + timedelta(seconds=31 + 60)
    ws.automation.run_once(now=NOW + timedelta(seconds=92))
    (job,) = jobs(ws)
    assert job.status == "dead" and job.attempts == 3 and "503" in job.last_error
    assert len(hook.received) == 3
    # The receiver is fixed; a person retries the dead letter.
    hook.default = 200
    with ws.session() as s:
        do_retry_job(session=s, actor="user:ania", job_id=job.id, now=NOW + timedelta(seconds=95))
    ws.automation.run_once(now=NOW + timedelta(seconds=100))
    assert jobs(ws)[0].status == "done" and len(hook.received) == 4
    # A 400 means the call itself is wrong: no retry, straight to the dead letters.
    hook.default = 400
    journeys_for(ws, {"ania": [{"event": "Complaint Submitted", "channel": "web",
                                "at": at(60)}]}, source="second")  # fmt: skip
    with ws.session() as s:
        s.execute(update(automation_firings).values(at=NOW - timedelta(days=30)))
    ws.automation.run_once(now=NOW + timedelta(minutes=61))
    assert jobs(ws)[-1].status == "dead" and jobs(ws)[-1].attempts == 1


def test_no_action_is_lost_when_the_worker_dies_mid_run(ws: Workspace, hook: HttpSink) -> None:
    journeys_for(ws, {"ania": people()["ania"]})
    data = rule(hook.url)
    data["actions"] = [data["actions"][1]]
    with ws.session() as s:
        do_save_rule(session=s, actor="test", data=data)
    fired = ws.automation.evaluate(now=NOW)
    (job_id,) = fired.jobs
    # A worker claims the job and dies before recording anything (its lease stays).
    with ws.session() as s:
        assert claim(s, job_id, NOW)
    ws.automation.queue.flush()  # the queue is lost too
    ws.automation.dispatch(now=NOW + timedelta(minutes=1))
    assert not hook.received  # another worker leaves it while the lease runs
    ws.automation.dispatch(now=NOW + timedelta(minutes=6))
    assert len(hook.received) == 1 and jobs(ws)[0].status == "done"


def test_scores_segments_and_history(ws: Workspace, smtp: SmtpSink, hook: HttpSink) -> None:
    with ws.session() as s:
        do_save_rule(
            session=s,
            actor="test",
            data={
                "name": "detractor",
                "trigger": {"score": {"kind": "nps", "below": 7}},
                "actions": [{"nudge": {"message": "Przykro nam"}}],
            },
        )
        do_save_segment(session=s, actor="test", data={"name": "gold", "traits": {"tier": "gold"}})
        do_save_rule(session=s, actor="test", data={
            "name": "welcome-gold", "trigger": {"segment_entry": "gold"},
            "actions": [{"webhook": {"url": hook.url}}]})  # fmt: skip
    journeys_for(ws, {
        "ania": [{"type": "identify", "at": at(-60), "traits": {"tier": "gold"}},
                 {"event": "Survey Answered", "channel": "survey", "at": at(-1),
                  "properties": {"kind": "nps", "score": 3}}],
        "john": [{"event": "Survey Answered", "channel": "survey", "at": at(-1),
                  "properties": {"kind": "nps", "score": 9}}],
        # Last year's detractor, imported today, triggers nothing.
        "celina": [{"event": "Survey Answered", "channel": "survey", "at": at(-60 * 24 * 300),
                    "properties": {"kind": "nps", "score": 0}}],
    })  # fmt: skip
    first = ws.automation.run_once(now=NOW)
    assert first["fired"] == 1 and first["too_old"] == 1
    assert not hook.received  # members when the rule first runs are where it starts
    journeys_for(ws, {"john": [{"type": "identify", "at": at(1), "traits": {"tier": "gold"}}]},
                 source="crm")  # fmt: skip
    ws.automation.run_once(now=NOW + timedelta(minutes=2))
    assert len(hook.received) == 1
    ws.automation.run_once(now=NOW + timedelta(minutes=3))
    assert len(hook.received) == 1
    with ws.session() as s:
        assert s.execute(select(func.count()).select_from(automation_messages)).scalar() == 1


def test_a_campaign_rule_holds_out_a_random_share_and_measures_uplift(
    ws: Workspace, hook: HttpSink
) -> None:
    data = rule(
        hook.url,
        campaign={
            "holdout": 0.3,
            "goal": {"event": "Add-on Purchased", "where": {"addon": "Wi-Fi Booster"}, "days": 14},
        },
    )
    data["conditions"] = {}
    data["actions"] = [data["actions"][1]]  # the webhook stands for the offer
    with ws.session() as s:
        do_save_rule(session=s, actor="test", data=data)
    crowd = {f"c{i}": [{"event": "Complaint Submitted", "channel": "web", "at": at(-1)}]
             for i in range(60)}  # fmt: skip
    ids = journeys_for(ws, crowd)
    report = ws.automation.run_once(now=NOW)
    assert report["fired"] + report["held_out"] == 60
    assert 8 <= report["held_out"] <= 30
    assert len(hook.received) == report["fired"]  # the holdout gets nothing
    with ws.session() as s:
        groups = dict(s.execute(select(automation_firings.c.profile_id,
                                       automation_firings.c.status)).all())  # fmt: skip
    # Later, some of each group buy the booster; the rule's report compares them.
    treated = [k for k in crowd if groups[ids[k]] == "fired"]
    held = [k for k in crowd if groups[ids[k]] == "held_out"]
    buy = {"event": "Add-on Purchased", "channel": "web", "at": at(60 * 24 * 3),
           "properties": {"addon": "Wi-Fi Booster"}}  # fmt: skip
    journeys_for(ws, {k: [buy] for k in treated[:20] + held[:2]}, source="shop")
    with ws.session() as s:
        stored = s.execute(select(func.count()).select_from(automation_jobs)).scalar()
        assert stored == len(treated)
        uplift = rule_uplift(s, get_rule(s, "complaint-follow-up").rule, journey=None,
                             now=NOW + timedelta(days=20))  # fmt: skip
    assert uplift.treatment.measured == len(treated) and uplift.holdout.measured == len(held)
    assert uplift.conversion.b.estimate == pytest.approx(20 / len(treated))
    assert uplift.conversion.a.estimate == pytest.approx(2 / len(held))


def test_a_text_topic_rule_fires_for_what_customers_now_write(ws: Workspace) -> None:
    # Last week's texts, analysed and clustered into topics: history, so nothing fires.
    week_ago = (datetime.now(UTC) - timedelta(days=7)).isoformat()
    people: dict[str, list[dict[str, Any]]] = {}
    for theme, by_lang in THEMES.items():
        for lang, texts in by_lang.items():
            for i, text in enumerate(texts):
                people[f"{theme}-{lang}-{i}"] = [
                    {
                        "event": "Message Sent",
                        "channel": "chat",
                        "at": week_ago,
                        "properties": {"text": text},
                    }
                ]
    journeys_for(ws, people)  # fmt: skip
    ws.text.enrich()
    ws.text.discover_topics(actor="test", k=3)
    with ws.session() as s:
        outage = (
            s.execute(
                select(text_items.c.topic_id)
                .join(events, events.c.seq == text_items.c.ref)
                .where(events.c.message_id.like("outage-en-%"))
            )
            .scalars()
            .all()
        )
    topic = max(set(outage), key=outage.count)
    with ws.session() as s:
        do_save_rule(session=s, actor="test", data={
            "name": "outage-sorry", "trigger": {"text_topic": topic},
            "actions": [{"nudge": {"message": "Przepraszamy za awarię"}}]})  # fmt: skip
    first = ws.automation.run_once()
    assert first["fired"] == 0 and first["too_old"] >= len(THEMES["outage"]["en"])
    # Now a customer writes about an outage, another about a bill.
    now = datetime.now(UTC).isoformat()
    journeys_for(ws, {
        "nowy": [{"event": "Message Sent", "channel": "chat", "at": now,
                  "properties": {"text": "Od rana nie mam internetu, router miga na czerwono."}}],
        "inny": [{"event": "Message Sent", "channel": "chat", "at": now,
                  "properties": {"text": THEMES["billing"]["pl"][0]}}],
    }, source="live")  # fmt: skip
    ws.text.enrich()
    report = ws.automation.run_once()
    assert report["fired"] == 1
    with ws.session() as s:
        (message,) = s.execute(select(automation_messages.c.profile_id)).scalars().all()
    assert message == ws.profile("nowy").id


def test_a_survey_action_invites_once_within_the_fatigue_window(ws: Workspace) -> None:
    with ws.session() as s:
        do_save_survey(
            session=s,
            actor="test",
            data={
                "id": "after-complaint",
                "kind": "csat",
                "languages": ["en", "pl"],
                "trigger": {"manual": True},
            },
        )
        do_save_rule(session=s, actor="test", data={
            "name": "ask-after-complaint", "trigger": {"event": "Complaint Submitted"},
            "actions": [{"survey": {"survey": "after-complaint"}}],
            "limits": {"per_customer": {"count": 5, "days": 7}}})  # fmt: skip
    journeys_for(ws, {"ania": people()["ania"] + [
        {"event": "Complaint Submitted", "channel": "web", "at": at(-1)}]})  # fmt: skip
    report = ws.automation.run_once(now=NOW)
    assert report["fired"] == 2 and report["done"] == 2
    results = [orjson.loads(j.result) for j in jobs(ws)]
    # The second invitation in the fatigue window is refused by the surveys capability.
    assert sorted(r["status"] for r in results) == ["sent", "suppressed"]
    with ws.session() as s:
        sent = s.execute(select(survey_invitations.c.language)).scalars().all()
    assert "pl" in sent  # Ania's language


def test_a_template_missing_a_customers_trait_fails_clearly(ws: Workspace) -> None:
    with ws.session() as s:
        do_save_rule(
            session=s,
            actor="test",
            data={
                "name": "by-plan",
                "trigger": {"event": "Complaint Submitted"},
                "actions": [
                    {"nudge": {"message": "Your {{ traits.plan }} plan"}},
                    {"nudge": {"message": "Your {{ traits.plan | default('') }} plan"}},
                ],
            },
        )
    journeys_for(ws, {"zoe": [{"event": "Complaint Submitted", "channel": "web", "at": at(-1)}]})
    report = ws.automation.run_once(now=NOW)
    assert report["fired"] == 1 and report["done"] == 1 and report["dead"] == 1
    dead = next(j for j in jobs(ws) if j.status == "dead")
    assert "cannot be filled" in dead.last_error and "plan" in dead.last_error
    with ws.session() as s:
        assert s.execute(select(automation_messages.c.message)).scalars().all() == ["Your  plan"]


def test_a_decision_reads_consent_as_it_is_now(ws: Workspace, hook: HttpSink) -> None:
    """Events processed in one batch: the complaint came before the withdrawal, but when cxm
    decides, the customer has already said no, so neither complaint contacts them."""
    data = rule(hook.url, limits={"per_customer": {"count": 5, "days": 7}})
    with ws.session() as s:
        do_save_rule(session=s, actor="test", data=data)
    steps = people()["ania"] + [
        {"event": "Consent Withdrawn", "channel": "web", "at": at(-3),
         "properties": {"purpose": "service"}},
        {"event": "Complaint Submitted", "channel": "web", "at": at(-2)},
    ]  # fmt: skip
    journeys_for(ws, {"ania": steps})
    report = ws.automation.run_once(now=NOW)
    assert (report["fired"], report["suppressed"]) == (0, 2)
    with ws.session() as s:
        reasons = s.execute(select(automation_firings.c.reason)).scalars().all()
    assert all("withdrew consent" in r for r in reasons)
    assert not hook.received


def test_a_trait_action_puts_the_customer_in_a_segment_through_ingest(ws: Workspace) -> None:
    with ws.session() as s:
        do_save_segment(
            session=s, actor="test", data={"name": "complained", "traits": {"complained": True}}
        )
        do_save_rule(session=s, actor="test", data={
            "name": "mark-complainers", "trigger": {"event": "Complaint Submitted"},
            "actions": [{"trait": {"key": "complained", "value": True}}]})  # fmt: skip
    ids = journeys_for(ws, {"ania": people()["ania"], "john": people()["john"][:1]})
    report = ws.automation.run_once(now=NOW)
    assert report["fired"] == 1 and report["done"] == 1
    ws.catch_up()
    assert ws.segment_members("complained") == [ids["ania"]]
    # The identify event came in through ingest, from the automation source, once.
    ws.automation.run_once(now=NOW + timedelta(minutes=1))
    with ws.session() as s:
        sent = s.execute(
            select(func.count()).where(events.c.message_id.like("automation-job-%"))
        ).scalar()
    assert sent == 1
    with ws.session() as s:
        bad = {"name": "who-am-i", "trigger": {"event": "X"},
               "actions": [{"trait": {"key": "email", "value": "x@y.z"}}]}  # fmt: skip
        with pytest.raises(RuleInvalid, match="says who the customer is"):
            do_save_rule(session=s, actor="test", data=bad)
