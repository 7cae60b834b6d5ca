"""The anomaly watch end to end on both stores: a day's spike of complaints on one topic is
alerted (and a normal week is not), the alert is stored once and names the departments it
concerns, and an alert rule delivers it to a real HTTP receiver and a real SMTP server, once,
only for its department; alert rules that would reach a customer are refused."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import numpy as np
import orjson
import pytest
from sqlalchemy import insert, select

from cxm.automation import RuleInvalid, do_save_rule
from cxm.automation.tables import automation_firings
from cxm.insights.tables import churn_risk_days, insight_alerts
from cxm.insights.watch import list_alerts, store_alerts, watch_days
from cxm.journeys.map import parse_journey_map, telecom_yaml
from cxm.store.metadata import utcnow
from cxm.text.tables import text_items, text_topics
from cxm.workspace import Workspace
from receivers import HttpSink, SmtpSink

SPIKE_DAY = date(2026, 10, 29)
NOW = datetime(2026, 10, 30, 9, 0, tzinfo=UTC)


@pytest.fixture
def hook() -> Iterator[HttpSink]:
    sink = HttpSink().start()
    yield sink
    sink.stop()


@pytest.fixture
def smtp() -> Iterator[SmtpSink]:
    sink = SmtpSink().start()
    yield sink
    sink.stop()


def _texts(workspace: Workspace, *, spike: int) -> None:
    """Sixty days of analysed texts: two topics at their usual daily volume (Poisson), and on
    SPIKE_DAY ``spike`` extra texts on the outage topic, written at the technician's visit."""
    rng = np.random.default_rng(7)
    now = utcnow()
    rows = []
    with workspace.session() as s:
        for topic, label in ((1, "Internet outage"), (2, "Invoice questions")):
            s.execute(
                insert(text_topics).values(
                    id=topic,
                    label=label,
                    keyphrases="{}",
                    centroid=b"",
                    size=0,
                    pinned=False,
                    created_at=now,
                    updated_at=now,
                )  # fmt: skip
            )
        ref = 0
        for offset in range(60, -1, -1):
            day = SPIKE_DAY + timedelta(days=1) - timedelta(days=offset)
            for topic, mean, touchpoint in ((1, 6, "technician-visit"), (2, 9, "invoice")):
                count = int(rng.poisson(mean)) + (spike if topic == 1 and day == SPIKE_DAY else 0)
                for i in range(count):
                    ref += 1
                    at = datetime(day.year, day.month, day.day, 8, tzinfo=UTC) + timedelta(
                        minutes=i
                    )
                    rows.append({"source": "event", "ref": ref, "field": "text",
                                 "occurred_at": at, "channel": "phone", "event": "Call",
                                 "touchpoint": touchpoint, "text_hash": f"h{ref}", "chars": 20,
                                 "language": "en", "language_confidence": 1.0,
                                 "sentiment": "negative", "sentiment_score": -0.5,
                                 "topic_id": topic, "pii": "", "model_version": "test",
                                 "enriched_at": now})  # fmt: skip
        s.execute(insert(text_items), rows)


def test_a_spike_is_alerted_on_its_day_and_a_normal_week_is_not(workspace: Workspace) -> None:
    _texts(workspace, spike=40)
    journey = parse_journey_map(telecom_yaml())
    with workspace.session() as s:
        normal_week = [SPIKE_DAY - timedelta(days=d) for d in range(7, 0, -1)]
        assert watch_days(s, journey, normal_week, alpha=0.01) == []
        rows = watch_days(s, journey, [SPIKE_DAY], alpha=0.01)
    assert [(r["series"], r["kind"], r["day"]) for r in rows] == [("topic:1", "spike", SPIKE_DAY)]
    alert = rows[0]
    assert alert["observed"] >= 40 and alert["expected"] < 10
    assert alert["message"].startswith("Topic: Internet outage")
    # Written at the technician's visit: field service and the network own it.
    assert list(alert["departments"])[:2] == ["field-service", "network"]
    with workspace.session() as s:
        assert store_alerts(s, rows, now=NOW) == 1
        assert store_alerts(s, rows, now=NOW) == 0  # one alert per series and day
        (kept,) = list_alerts(s)
    assert kept.series == "topic:1" and kept.day == SPIKE_DAY


def test_alert_rules_deliver_once_and_only_for_their_department(
    workspace: Workspace, hook: HttpSink, smtp: SmtpSink
) -> None:
    workspace.settings.smtp_host = "127.0.0.1"
    workspace.settings.smtp_port = smtp.port
    workspace.settings.smtp_from = "cxm <cxm@vistula.pl>"
    with workspace.session() as s:
        do_save_rule(session=s, actor="test", data={
            "name": "network-spikes",
            "trigger": {"alert": {"department": "network", "kind": "spike"}},
            "actions": [
                {"webhook": {"url": hook.url}},
                {"email": {"to": "network-team@vistula.pl", "subject": "Alert: {{ alert.label }}",
                           "body": "{{ alert.message }}"}},
            ],
        })  # fmt: skip
        do_save_rule(session=s, actor="test", data={
            "name": "billing-anything",
            "trigger": {"alert": {"department": "billing"}},
            "actions": [{"webhook": {"url": hook.url + "/billing"}}],
        })  # fmt: skip
        s.execute(
            insert(insight_alerts).values(
                series="topic:1", label="Topic: Internet outage", kind="spike", day=SPIKE_DAY,
                observed=47, expected=6.2, p_value=1e-12,
                message="Topic: Internet outage: 47 texts on 2026-10-29, expected about 6.2",
                departments=orjson.dumps({"field-service": 0.9, "network": 0.7}).decode(),
                raised_at=NOW, deliveries=0,
            )
        )  # fmt: skip
    report = workspace.automation.run_once(now=NOW)
    assert report["fired"] == 1 and report["done"] == 2, report
    (call,) = hook.received
    body = orjson.loads(call.body)
    assert call.path == "/" and call.headers["x-cxm-signature"].startswith("sha256=")
    assert body["rule"] == "network-spikes" and body["alert"]["series"] == "topic:1"
    assert body["alert"]["departments"] == {"field-service": 0.9, "network": 0.7}
    (mail,) = smtp.messages
    assert mail["To"] == "network-team@vistula.pl"
    assert mail["Subject"] == "Alert: Topic: Internet outage"
    assert "47 texts on 2026-10-29" in mail.get_payload()
    # Nothing twice, and the alert knows it was sent.
    again = workspace.automation.run_once(now=NOW + timedelta(minutes=1))
    assert again["fired"] == 0 and len(hook.received) == 1
    with workspace.session() as s:
        (kept,) = list_alerts(s)
        firings = s.execute(select(automation_firings.c.profile_id)).scalars().all()
    assert kept.deliveries == 1 and firings == [f"alert:{kept.id}"]


@pytest.mark.parametrize(
    ("actions", "problem"),
    [
        ([{"case": {"title": "x"}}], "an alert rule can use email, webhook, not case"),
        ([{"email": {"subject": "s", "body": "b"}}], "a fixed address"),
        ([{"nudge": {"message": "hi"}}], "not nudge"),
    ],
)
def test_alert_rules_that_would_reach_a_customer_are_refused(
    actions: list[dict[str, object]], problem: str
) -> None:
    from cxm.automation.rules import rule_from_data

    with pytest.raises(RuleInvalid) as caught:
        rule_from_data({"name": "x", "trigger": {"alert": {}}, "actions": actions})
    assert any(problem in e.message for e in caught.value.errors), caught.value.errors
    with pytest.raises(RuleInvalid) as wrong_kind:
        rule_from_data({"name": "x", "trigger": {"alert": {"kind": "boom"}},
                        "actions": [{"webhook": {"url": "http://127.0.0.1/"}}]})  # fmt: skip
    assert "spike, drop, rise" in wrong_kind.value.message


def test_a_segments_churn_risk_rising_is_alerted(workspace: Workspace) -> None:
    """Kept daily mean risks (no texts at all): a normal month, then a jump in one segment."""
    rng = np.random.default_rng(9)
    rows = []
    for offset in range(45, -1, -1):
        day = SPIKE_DAY - timedelta(days=offset)
        for segment, base in (("*", 0.04), ("fibre-krakow", 0.06)):
            mean = base + rng.normal(0, 0.002)
            if segment == "fibre-krakow" and day == SPIKE_DAY:
                mean = 0.12  # twice the usual risk
            rows.append({"day": day, "segment": segment, "mean": mean, "n": 400})
    with workspace.session() as s:
        s.execute(insert(churn_risk_days), rows)
        normal_week = [SPIKE_DAY - timedelta(days=d) for d in range(7, 0, -1)]
        assert watch_days(s, None, normal_week, alpha=0.01) == []
        (alert,) = watch_days(s, None, [SPIKE_DAY], alpha=0.01)
    assert (alert["series"], alert["kind"]) == ("churn-risk:fibre-krakow", "rise")
    assert alert["label"] == "Churn risk of segment fibre-krakow"
    assert alert["observed"] == pytest.approx(0.12) and alert["expected"] < 0.07
