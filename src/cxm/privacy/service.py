"""Data-subject requests as one call each: ``do_export`` (and ``do_erase`` in ``erasure``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cxm.errors import CxmError, InvalidInput
from cxm.privacy.export import archive, collect, count_rows, record_export
from cxm.privacy.subject import find_subject
from cxm.store.metadata import utcnow

if TYPE_CHECKING:
    from cxm.workspace import Workspace


def do_export(ws: Workspace, *, ref: str, actor: str, reason: str) -> tuple[bytes, dict[str, Any]]:
    """The zip archive of everything cxm holds on the person ``ref`` names, and what it holds
    (rows per file); the export is recorded with who asked and why."""
    if not reason.strip():
        raise InvalidInput("say why (the request, its date or reference): it is kept in the log")
    from cxm.insights.churn_data import customer_features
    from cxm.privacy.erasure import lake_rows

    ws.catch_up()
    ws.sync_lake()
    with ws.session() as s:
        subject = find_subject(s, ref)
        files = collect(s, subject)
    files["lake.jsonl"] = _lake_rows(ws, subject.profile_ids)
    try:
        features = customer_features(ws.query_engine(), ws.journey_map(), utcnow())
        row = features.loc[[subject.profile_id]] if subject.profile_id in features.index else None
        features_now = row.iloc[0].to_dict() if row is not None else {}
    except CxmError:  # no journey map yet: no features to show
        features_now = {}
    files["scores.json"]["features_now"] = features_now
    counts = count_rows(files)
    counts["lake.jsonl"] = lake_rows(ws, subject.profile_ids, [])
    with ws.session() as s:
        record_export(s, subject, actor=actor, reason=reason.strip(), counts=counts, now=utcnow())
    return archive(files), counts


def _lake_rows(ws: Workspace, profile_ids: list[str]) -> list[dict[str, Any]]:
    from cxm.analytics import events_table

    ev = events_table()
    frame = ws.query_engine().execute(ev.filter(ev.customer_id.isin(profile_ids)))
    return [{k: _plain(v) for k, v in r.items()} for r in frame.to_dict(orient="records")]


def _plain(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value
