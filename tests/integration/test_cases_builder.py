"""The case builder on real stores: the broken journey from the CX books (branch → phone menu →
agent, transferred → technician) becomes one case with three contacts, two handoffs and the
times the customer was asked again for what the company knew; late and replayed events change
nothing they should not."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import func, select

from cxm.cases import asked_again_report, do_update_case, get_case, list_cases
from cxm.cases.queries import CaseFilter
from cxm.cases.tables import case_activity, cases, data_requests
from cxm.journeys.map import telecom_yaml
from cxm.journeys.service import do_save_journey_map
from cxm.workspace import Workspace
from helpers import journeys_for

KNOWN = {"address": "ul. Długa 5", "birthday": "1980-02-01", "name": "Anna Nowak"}


def _journey(workspace: Workspace) -> None:
    with workspace.session() as session:
        do_save_journey_map(session=session, source=telecom_yaml(), actor="test",
                            filename="telecom.yaml")  # fmt: skip


def broken_journey(day: str = "2026-03", *, ref: str | None = None) -> list[dict[str, Any]]:
    def at(d: int, hm: str) -> str:
        return f"{day}-{d:02d}T{hm}:00Z"

    refs = {"case_ref": ref} if ref else {}
    return [
        {"type": "identify", "at": at(1, "08:00"), "traits": KNOWN},
        {"event": "Branch Visit", "channel": "branch", "at": at(2, "09:00")},
        {"event": "Issue Reported", "channel": "branch", "at": at(2, "09:10"),
         "properties": {"text": "Internet nie działa od wczoraj", **refs}},
        {"event": "IVR Call", "channel": "ivr", "at": at(4, "10:00")},
        {"event": "Data Requested", "channel": "ivr", "at": at(4, "10:01"),
         "properties": {"fields": ["customer_number", "address"]}},
        {"event": "Identity Verified", "channel": "ivr", "at": at(4, "10:02"),
         "properties": {"method": "customer_number"}},
        {"event": "Call Started", "channel": "phone", "at": at(4, "10:04")},
        {"event": "Data Requested", "channel": "phone", "at": at(4, "10:10"),
         "properties": {"fields": ["customer_number", "address"]}},
        {"event": "Call Handled", "channel": "phone", "at": at(4, "10:20"),
         "properties": {"agent": "Ola", "department": "Wsparcie techniczne",
                        "text": "Klient zgłasza brak internetu"}},
        {"event": "Call Transferred", "channel": "phone", "at": at(4, "10:22"),
         "properties": {"from_department": "Wsparcie techniczne",
                        "to_department": "Serwis terenowy"}},
        {"event": "Technician Visit", "channel": "field_service", "at": at(7, "12:00"),
         "properties": {"technician": "Jan", "work_order": "WO-1"}},
        {"event": "Data Requested", "channel": "field_service", "at": at(7, "12:10"),
         "properties": {"fields": ["customer_number", "address", "contract_number"]}},
        {"event": "Repair Completed", "channel": "field_service", "at": at(7, "14:00")},
    ]  # fmt: skip


def test_the_broken_journey_is_one_case(workspace: Workspace) -> None:
    _journey(workspace)
    ids = journeys_for(workspace, {"ania": broken_journey()})
    report = workspace.build_cases()
    assert report.opened == 1
    with workspace.session() as s:
        page = list_cases(s, CaseFilter(status=["open", "pending", "resolved", "closed"]))
        assert page.total == 1
        case = get_case(s, page.cases[0].ref)
    assert case.profile_id == ids["ania"]
    assert (case.contacts, case.channels, case.handoffs) == (3, 3, 2)
    assert case.status == "resolved" and case.resolved_at is not None
    assert case.resolved_at.isoformat().startswith("2026-03-07T14:00")
    assert case.opened_at.isoformat().startswith("2026-03-02T09:10")
    assert case.department == "field-service"
    assert case.channel == "branch" and case.touchpoint == "branch-issue"
    assert case.title == "Internet nie działa od wczoraj"
    # The phone menu's question and its check are one ask; the agent and the technician ask
    # again for what the company knew (and the agent had just been told).
    assert case.asked_again == 3
    kinds = [a.kind for a in case.activity]
    assert kinds.count("contact") == 5 and kinds.count("transfer") == 1
    assert kinds.count("data_request") == 4 and kinds[-1] == "resolution"
    first_response = case.first_response_at
    assert first_response is not None and first_response.isoformat().startswith("2026-03-02")
    with workspace.session() as s:
        asks = s.execute(select(data_requests).order_by(data_requests.c.at)).all()
    assert len(asks) == 4
    known = [orjson.loads(a.known_fields) for a in asks]
    assert known[0] == ["customer_number", "address"]
    assert known[3] == ["customer_number", "address"]  # no contract number on the profile
    repeated = [orjson.loads(a.repeated_fields) for a in asks]
    assert repeated[3] == ["customer_number", "address"]


def test_building_again_adds_nothing_and_late_events_land_in_place(workspace: Workspace) -> None:
    _journey(workspace)
    steps = broken_journey()
    journeys_for(workspace, {"ania": steps[:3] + steps[6:]})  # without the phone menu
    workspace.build_cases()
    again = workspace.build_cases()
    assert again.placed == 0 and again.opened == 0
    journeys_for(workspace, {"ania": steps}, source="late-ivr-export")
    workspace.build_cases()
    with workspace.session() as s:
        assert s.execute(select(func.count()).select_from(cases)).scalar() == 1
        ref = s.execute(select(cases.c.ref)).scalar_one()
        case = get_case(s, ref)
        activity = s.execute(select(func.count()).select_from(case_activity)).scalar()
    # The late source's copies of events already seen are new events (another source), but
    # the phone menu's steps join the same case, in their place.
    assert activity is not None and activity >= 12
    assert case.contacts == 3 and case.handoffs == 2


def test_a_quoted_reference_joins_its_case_however_late(workspace: Workspace) -> None:
    _journey(workspace)
    steps = broken_journey(ref="CASE-2026-00042")
    # Weeks later the customer calls quoting the reference: it joins, and reopens the case.
    steps.append({"event": "Call Handled", "channel": "phone", "at": "2026-04-20T09:00:00Z",
                  "properties": {"agent": "Ola", "case_ref": "CASE-2026-00042"}})  # fmt: skip
    journeys_for(workspace, {"ania": steps})
    workspace.build_cases()
    case = workspace.case("CASE-2026-00042")
    assert case.reopened == 1 and case.status in ("open", "resolved")
    assert case.contacts == 4


def test_separate_matters_are_separate_cases(workspace: Workspace) -> None:
    _journey(workspace)
    march = broken_journey("2026-03")
    may = broken_journey("2026-05")[1:]
    journeys_for(workspace, {"ania": march + may, "bartek": broken_journey("2026-03")})
    workspace.build_cases()
    with workspace.session() as s:
        everything = CaseFilter(status=["open", "pending", "resolved", "closed"])
        assert list_cases(s, everything).total == 3
        rows = asked_again_report(s, by="touchpoint")
    by_touchpoint = {r.key: r for r in rows}
    assert by_touchpoint["call-data-request"].requests == 3
    assert by_touchpoint["call-data-request"].repeated == 3
    assert by_touchpoint["technician-data-request"].top_fields[0] == ("address", 3)
    # Nobody asked twice for data the company lacked and had not asked for before.
    assert all(r.low is not None and 0 <= r.low <= (r.share or 0) for r in rows)


def test_asking_for_known_data_feeds_the_effort_index(workspace: Workspace) -> None:
    _journey(workspace)
    ids = journeys_for(workspace, {"ania": broken_journey()})

    def asked_again() -> int:
        effort = workspace.metrics.effort().customer_effort
        row = effort[effort["customer_id"] == ids["ania"]]
        return int(row["asked_again"].iloc[0])

    # Before cxm knows what the profile held, the effort index counts asks after the first:
    # the agent's and the technician's.
    assert asked_again() == 2
    workspace.build_cases()
    workspace.sync_lake()
    # The phone menu asked for the customer number and address the profile already held:
    # that first ask counts too.
    assert asked_again() == 3


def test_an_answered_case_left_quiet_resolves_as_time_passes(workspace: Workspace) -> None:
    _journey(workspace)
    now = datetime.now(UTC)
    journeys_for(workspace, {"ola": [
        {"event": "Call Handled", "channel": "phone", "at": (now - timedelta(hours=2)).isoformat(),
         "properties": {"agent": "Ewa"}},
    ]})  # fmt: skip
    workspace.build_cases(now=now)
    (case,) = workspace.cases(status=["open"])
    assert case.first_response_at is not None
    # A week and a day later, with no new event, the builder's run resolves it as quiet.
    later = now + timedelta(days=8)
    workspace.build_cases(now=later)
    quiet = workspace.case(case.ref)
    assert quiet.status == "resolved" and quiet.resolved_at == case.last_activity_at
    # A person reopens it: it stays open, and later runs leave it alone.
    with workspace.session() as s:
        do_update_case(session=s, actor="user:ewa", policy=workspace.case_policy, ref=case.ref,
                       status="open", now=later)  # fmt: skip
    workspace.build_cases(now=later + timedelta(days=9))
    kept = workspace.case(case.ref)
    assert kept.status == "open" and kept.reopened == 1
