"""Validation of Segment-spec payloads into event-log rows (pure: no I/O).

A batch is checked event by event: a bad event is rejected with the reason and its position,
the good ones go on. See https://segment.com/docs/connections/sources/catalog/libraries/server/http-api/
for the spec this follows.
"""

from __future__ import annotations

import uuid
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from cxm.config import CHANNELS
from cxm.errors import ErrorDetail, InvalidInput, PayloadTooLarge

EVENT_TYPES = ("identify", "track", "page", "screen", "group", "alias")
MAX_ID_LENGTH = 200
MAX_NAME_LENGTH = 200
# Customer clocks drift; beyond this a timestamp is a bug on the sender's side, not drift.
MAX_FUTURE_SKEW = timedelta(hours=24)
EARLIEST_TIMESTAMP = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass
class CheckedBatch:
    """The rows ready for the event log, and the events rejected with their reasons."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    rejected: list[dict[str, Any]] = field(default_factory=list)
    write_key: str | None = None
    indexes: list[int] = field(default_factory=list)  # each row's place in the batch

    def refuse(self, position: int, message: str) -> None:
        """Move the row at ``position`` (of ``rows``) to the rejected, with ``message``."""
        row = self.rows.pop(position)
        index = self.indexes.pop(position) if self.indexes else 0
        self.rejected.append(
            {"index": index, "messageId": row.get("message_id"), "message": message,
             "errors": [{"loc": ["batch", index], "message": message}]}
        )  # fmt: skip


def decode_body(body: bytes, content_encoding: str | None, *, limit: int) -> bytes:
    """Undo gzip/deflate, refusing bodies whose decoded size exceeds ``limit`` bytes."""
    encoding = (content_encoding or "identity").strip().lower()
    if encoding in ("", "identity"):
        decoded = body
    elif encoding in ("gzip", "x-gzip", "deflate"):
        wbits = 16 + zlib.MAX_WBITS if encoding != "deflate" else zlib.MAX_WBITS
        try:
            inflater = zlib.decompressobj(wbits)
            decoded = inflater.decompress(body, limit + 1)
            complete = inflater.eof and not inflater.unused_data
            if len(decoded) <= limit and not complete:
                raise zlib.error("the data is truncated or followed by more data")
        except zlib.error as exc:
            raise InvalidInput(
                f"the body is not valid {encoding} data ({exc}); send it compressed or drop "
                "the Content-Encoding header"
            ) from exc
    else:
        raise InvalidInput(f"unsupported Content-Encoding {encoding!r}; use gzip, deflate or none")
    if len(decoded) > limit:
        raise PayloadTooLarge(
            f"the request body is larger than {limit // 1024} KB after decoding; "
            f"split it into smaller batches"
        )
    return decoded


def parse_json_object(body: bytes) -> dict[str, Any]:
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InvalidInput(f"the body is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise InvalidInput(f"the body must be a JSON object, not {type(data).__name__}")
    return data


def check_batch(
    body: dict[str, Any],
    *,
    channel: str,
    received_at: datetime,
    max_event_bytes: int,
    never_store: Sequence[str] = (),
) -> CheckedBatch:
    """Check a ``/v1/batch`` body: ``{"batch": [event, ...], "sentAt"?, "context"?}``."""
    batch = body.get("batch")
    if not isinstance(batch, list):
        raise InvalidInput(
            "the body must have a 'batch' list of events",
            errors=[ErrorDetail(("batch",), "missing or not a list")],
        )
    if not batch:
        raise InvalidInput("the batch is empty", errors=[ErrorDetail(("batch",), "empty list")])
    sent_at = _parse_sent_at(body.get("sentAt"))
    shared_context = body.get("context") if isinstance(body.get("context"), dict) else None
    checked = CheckedBatch(write_key=_write_key_of(body))
    for index, raw in enumerate(batch):
        if shared_context and isinstance(raw, dict) and isinstance(raw.get("context"), dict | None):
            raw = {**raw, "context": {**shared_context, **(raw.get("context") or {})}}
        row, errors = check_event(
            raw,
            loc=("batch", index),
            channel=channel,
            received_at=received_at,
            sent_at=sent_at,
            max_event_bytes=max_event_bytes,
            never_store=never_store,
        )
        if row is None:
            checked.rejected.append(_rejection(index, raw, errors))
        else:
            checked.rows.append(row)
            checked.indexes.append(index)
    return checked


def check_single(
    body: dict[str, Any],
    *,
    event_type: str,
    channel: str,
    received_at: datetime,
    max_event_bytes: int,
    never_store: Sequence[str] = (),
) -> CheckedBatch:
    """Check the body of ``/v1/track`` and friends: one event whose type is the path's."""
    given = body.get("type")
    if given is not None and given != event_type:
        raise InvalidInput(
            f"this endpoint takes '{event_type}' events, the body says type {given!r}",
            errors=[ErrorDetail(("type",), f"expected {event_type!r}")],
        )
    raw = {**body, "type": event_type}
    raw.pop("writeKey", None)
    row, errors = check_event(
        raw,
        loc=(),
        channel=channel,
        received_at=received_at,
        sent_at=_parse_sent_at(body.get("sentAt")),
        max_event_bytes=max_event_bytes,
        never_store=never_store,
    )
    if row is None:
        raise InvalidInput(f"the {event_type} event is invalid: {errors[0].message}", errors=errors)
    return CheckedBatch(rows=[row], write_key=_write_key_of(body), indexes=[0])


def check_event(
    raw: Any,
    *,
    loc: tuple[str | int, ...],
    channel: str,
    received_at: datetime,
    sent_at: datetime | None,
    max_event_bytes: int,
    never_store: Sequence[str] = (),
) -> tuple[dict[str, Any] | None, list[ErrorDetail]]:
    """Turn one Segment event into an event-log row, or say everything wrong with it.

    ``never_store`` (``CXM_NEVER_STORE``) names what is removed before anything is kept: a
    dotted path from the event (``context.ip``, ``properties.card.number``) or a bare key,
    removed wherever it appears in ``properties``, ``traits`` and ``context``. The paths
    removed are listed in ``context.cxm_removed``, so it is known that something was there.
    """
    if not isinstance(raw, dict):
        return None, [ErrorDetail(loc, f"an event must be a JSON object, not {type(raw).__name__}")]
    if never_store:
        raw = scrub(raw, never_store)
    errors: list[ErrorDetail] = []

    def bad(key: str, message: str) -> None:
        errors.append(ErrorDetail((*loc, key), message))

    try:
        payload = orjson.dumps(raw)
    except TypeError as exc:  # e.g. an integer beyond 64 bits
        bad("", f"the event holds a value that cannot be stored as JSON: {exc}")
        return None, errors
    if len(payload) > max_event_bytes:
        bad("", f"the event is {len(payload)} bytes; the limit is {max_event_bytes} bytes")
        return None, errors
    if b"\\u0000" in payload and _holds_nul(raw):
        # PostgreSQL cannot store NUL in text, and no real identifier or name contains one.
        bad("", "the event contains a NUL character (\\u0000); remove it")
        return None, errors

    event_type = raw.get("type")
    if event_type not in EVENT_TYPES:
        bad("type", f"unknown event type {event_type!r}; expected one of {', '.join(EVENT_TYPES)}")
        return None, errors

    user_id = _optional_id(raw, "userId", bad)
    anonymous_id = _optional_id(raw, "anonymousId", bad)
    id_errors = any(e.loc[-1] in ("userId", "anonymousId") for e in errors)
    if user_id is None and anonymous_id is None and not id_errors:
        bad("userId", "every event needs a userId or an anonymousId")

    name: str | None = None
    if event_type == "track":
        name = _required_name(raw, "event", bad)
    elif event_type in ("page", "screen"):
        name = _optional_name(raw, "name", bad)
    elif event_type == "group":
        group_id = _optional_id(raw, "groupId", bad)
        if group_id is None:
            bad("groupId", "a group event needs a groupId")
    elif event_type == "alias":
        if _optional_id(raw, "previousId", bad) is None:
            bad("previousId", "an alias event needs the previousId it links to the userId")
        if user_id is None:
            bad("userId", "an alias event needs a userId")

    for key in ("properties", "traits", "context", "integrations"):
        value = raw.get(key)
        if value is not None and not isinstance(value, dict):
            bad(key, f"'{key}' must be an object, not {type(value).__name__}")

    message_id = raw.get("messageId")
    if message_id is None or message_id == "":
        message_id = f"cxm-{uuid.uuid4().hex}"
    elif isinstance(message_id, (str, int)) and not isinstance(message_id, bool):
        message_id = str(message_id)
        if len(message_id) > MAX_ID_LENGTH:
            bad("messageId", f"messageId is longer than {MAX_ID_LENGTH} characters")
    else:
        bad("messageId", f"messageId must be a string, not {type(message_id).__name__}")

    timestamp = _event_timestamp(raw, received_at=received_at, sent_at=sent_at, bad=bad)
    if errors:
        return None, errors

    context = raw.get("context") or {}
    event_channel = context.get("channel")
    if event_channel not in CHANNELS:
        event_channel = channel
    return {
        "message_id": message_id,
        "type": event_type,
        "event": name,
        "user_id": user_id,
        "anonymous_id": anonymous_id,
        "channel": event_channel,
        "timestamp": timestamp,
        "received_at": received_at,
        "payload": payload.decode(),
    }, errors


def scrub(raw: dict[str, Any], never_store: Sequence[str]) -> dict[str, Any]:
    """``raw`` without the fields that are never stored, and the list of what was removed.

    >>> scrub({"type": "track", "properties": {"card_number": "4111", "plan": "x"}},
    ...       ["card_number"])["properties"]
    {'plan': 'x'}
    """
    removed: list[str] = []
    keys = {k for k in never_store if "." not in k}
    paths = [k.split(".") for k in never_store if "." in k]

    def walk(value: Any, where: str) -> Any:
        if not isinstance(value, dict):
            return value
        kept = {}
        for key, inner in value.items():
            here = f"{where}.{key}" if where else str(key)
            if key in keys:
                removed.append(here)
                continue
            kept[key] = walk(inner, here)
        return kept

    out = dict(raw)
    for section in ("properties", "traits", "context"):
        if isinstance(out.get(section), dict) and keys:
            out[section] = walk(out[section], section)
    for path in paths:
        node: Any = out
        for part in path[:-1]:
            node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, dict) and path[-1] in node:
            # Copy the dicts on the way down, so the caller's event is left as it was.
            parent: dict[str, Any] = out
            for part in path[:-1]:
                parent[part] = dict(parent[part])
                parent = parent[part]
            del parent[path[-1]]
            removed.append(".".join(path))
    if removed:
        context = dict(out["context"]) if isinstance(out.get("context"), dict) else {}
        context["cxm_removed"] = sorted(removed)
        out["context"] = context
    return out


def _holds_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_holds_nul(v) for v in value)
    return False


def _write_key_of(body: dict[str, Any]) -> str | None:
    key = body.get("writeKey")
    return key if isinstance(key, str) and key else None


def _rejection(index: int, raw: Any, errors: list[ErrorDetail]) -> dict[str, Any]:
    message_id = raw.get("messageId") if isinstance(raw, dict) else None
    return {
        "index": index,
        "messageId": message_id if isinstance(message_id, str) else None,
        "message": "; ".join(f"{'.'.join(map(str, e.loc))}: {e.message}" for e in errors),
        "errors": [e.as_dict() for e in errors],
    }


def _optional_id(raw: dict[str, Any], key: str, bad: Any) -> str | None:
    value = raw.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        return None  # blank ids would join strangers into one profile
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        bad(key, f"{key} must be a string, not {type(value).__name__}")
        return None
    text = str(value)
    if len(text) > MAX_ID_LENGTH:
        bad(key, f"{key} is longer than {MAX_ID_LENGTH} characters")
        return None
    return text


def _required_name(raw: dict[str, Any], key: str, bad: Any) -> str | None:
    value = raw.get(key)
    if not isinstance(value, str) or not value.strip():
        bad(key, f"a track event needs a non-empty '{key}' name, got {value!r}")
        return None
    if len(value) > MAX_NAME_LENGTH:
        bad(key, f"'{key}' is longer than {MAX_NAME_LENGTH} characters")
        return None
    return value


def _optional_name(raw: dict[str, Any], key: str, bad: Any) -> str | None:
    value = raw.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > MAX_NAME_LENGTH:
        bad(key, f"'{key}' must be a string of at most {MAX_NAME_LENGTH} characters")
        return None
    return value


def parse_timestamp(value: Any) -> datetime:
    """Parse an ISO 8601 timestamp; a value without an offset is taken as UTC."""
    if not isinstance(value, str):
        raise ValueError(f"expected an ISO 8601 string, got {type(value).__name__} {value!r}")
    try:
        parsed = datetime.fromisoformat(value.strip())
        if parsed.tzinfo is None:
            return parsed.replace(tzinfo=UTC)
        return parsed.astimezone(UTC)
    except ValueError:
        raise ValueError(f"{value!r} is not an ISO 8601 timestamp") from None
    except OverflowError:
        raise ValueError(f"{value!r} is out of the range of dates cxm stores") from None


def _parse_sent_at(value: Any) -> datetime | None:
    if value is None:
        return None
    try:
        return parse_timestamp(value)
    except ValueError:
        return None  # sentAt only corrects clock skew; a bad one is ignored, as Segment does


def _event_timestamp(
    raw: dict[str, Any], *, received_at: datetime, sent_at: datetime | None, bad: Any
) -> datetime:
    key = "timestamp" if raw.get("timestamp") is not None else "originalTimestamp"
    value = raw.get(key)
    if value is None:
        return received_at
    try:
        stamp = parse_timestamp(value)
    except ValueError as exc:
        bad(key, str(exc))
        return received_at
    own_sent_at = _parse_sent_at(raw.get("sentAt")) or sent_at
    if key == "originalTimestamp" and own_sent_at is not None:
        # Segment's clock-skew correction: the device clock's offset is sentAt - receivedAt.
        try:
            stamp = received_at - (own_sent_at - stamp)
        except OverflowError:
            bad(key, f"{value!r} with sentAt {raw.get('sentAt')!r} gives a date out of range")
            return received_at
    if stamp > received_at + MAX_FUTURE_SKEW:
        bad(
            key,
            f"{value!r} is more than 24 hours ahead of the server clock "
            f"({received_at:%Y-%m-%dT%H:%MZ})",
        )
    elif stamp < EARLIEST_TIMESTAMP:
        bad(key, f"{value!r} is before 2000-01-01; check the sender's clock or date format")
    return stamp
