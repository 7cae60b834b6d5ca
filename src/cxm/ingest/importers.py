"""CSV and JSONL importers: turn rows of an interaction export into Segment events.

A :class:`ColumnMapping` says which column feeds which event field; columns it does not name
go into ``properties``. Each row gets a ``messageId`` derived from its content, so importing
the same file twice stores nothing new. Rows that cannot be turned into an event are reported
with their line number and the reason; the others are stored.
"""

from __future__ import annotations

import csv
import hashlib
import re
import tomllib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from cxm.errors import InvalidInput
from cxm.identity.normalize import normalize_email, normalize_phone

# Targets a column can feed. Dotted targets ("properties.plan", "traits.city",
# "context.traits.address") are accepted as well.
SIMPLE_TARGETS = {
    "type",
    "event",
    "userId",
    "anonymousId",
    "messageId",
    "timestamp",
    "name",
    "email",
    "phone",
    "text",
    "channel",
}
_DOTTED = re.compile(r"^(properties|traits|context\.traits)\.[A-Za-z0-9_]{1,100}$")
_SURROGATE = re.compile("[\udc80-\udcff]")


@dataclass
class ColumnMapping:
    """Which column feeds which field, and constant values for fields no column carries."""

    columns: dict[str, str] = field(default_factory=dict)  # target → column
    defaults: dict[str, str] = field(default_factory=dict)  # target → constant
    extra_to_properties: bool = True

    def check(self) -> None:
        for target in (*self.columns, *self.defaults):
            if target not in SIMPLE_TARGETS and not _DOTTED.match(target):
                raise InvalidInput(
                    f"unknown mapping target {target!r}; use one of "
                    f"{', '.join(sorted(SIMPLE_TARGETS))} or properties.X / traits.X / "
                    "context.traits.X"
                )

    @classmethod
    def from_file(cls, path: Path) -> ColumnMapping:
        """Read a TOML mapping: ``[columns]`` target = "Column", ``[defaults]`` target = value."""
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise InvalidInput(f"cannot read the mapping file {path}: {exc}") from exc
        mapping = cls(
            columns={str(k): str(v) for k, v in (data.get("columns") or {}).items()},
            defaults={str(k): str(v) for k, v in (data.get("defaults") or {}).items()},
            extra_to_properties=bool(data.get("extra_to_properties", True)),
        )
        mapping.check()
        return mapping

    @classmethod
    def from_pairs(cls, pairs: list[str], defaults: list[str] | None = None) -> ColumnMapping:
        """From ``target=Column`` strings (the CLI's ``--map``) and ``target=value`` constants."""
        mapping = cls(columns=_pairs(pairs, "--map"), defaults=_pairs(defaults or [], "--set"))
        mapping.check()
        return mapping


def _pairs(items: list[str], flag: str) -> dict[str, str]:
    out = {}
    for item in items:
        target, sep, value = item.partition("=")
        if not sep or not target.strip():
            raise InvalidInput(f"{flag} takes target=value, got {item!r}")
        out[target.strip()] = value.strip()
    return out


def row_to_event(
    row: dict[str, Any], mapping: ColumnMapping, *, region: str = "PL"
) -> dict[str, Any]:
    """Build a Segment event from one flat record (pure; the event is validated downstream).

    A column mapped as ``email`` or ``phone`` must hold one: otherwise the row is refused
    (``InvalidInput``) rather than stored under an identity nobody can find.
    """
    values: dict[str, Any] = dict(mapping.defaults)
    used = set()
    for target, column in mapping.columns.items():
        if column in row:
            used.add(column)
            value = row[column]
            if value not in (None, ""):
                values[target] = value
    _check_contacts(values, mapping, region)
    event: dict[str, Any] = {"type": values.pop("type", "track")}
    properties: dict[str, Any] = {}
    traits: dict[str, Any] = {}
    context_traits: dict[str, Any] = {}
    for target, value in values.items():
        if target in ("email", "phone"):
            (traits if event["type"] == "identify" else context_traits)[target] = value
        elif target == "text":
            properties["text"] = value
        elif target == "channel":
            event.setdefault("context", {})["channel"] = value
        elif target.startswith("properties."):
            properties[target.removeprefix("properties.")] = value
        elif target.startswith("context.traits."):
            context_traits[target.removeprefix("context.traits.")] = value
        elif target.startswith("traits."):
            traits[target.removeprefix("traits.")] = value
        else:
            event[target] = value
    if mapping.extra_to_properties:
        for column, value in row.items():
            if column and column not in used and value not in (None, ""):
                properties.setdefault(_property_key(column), value)
    if "userId" not in event and "anonymousId" not in event:
        # Exports often know a customer only by contact details; name the anonymous visitor
        # after them so the row is a valid event and the e-mail/phone rule can link it.
        contact = values.get("email") or values.get("phone")
        if contact:
            event["anonymousId"] = f"{'email' if 'email' in values else 'phone'}:{contact}"
    if properties and event["type"] != "identify":
        event["properties"] = properties
    if traits:
        event["traits"] = traits
    if context_traits:
        event.setdefault("context", {})["traits"] = context_traits
    return event


def _check_contacts(values: dict[str, Any], mapping: ColumnMapping, region: str) -> None:
    if "email" in values and normalize_email(values["email"]) is None:
        column = mapping.columns.get("email", "email")
        raise InvalidInput(f"column {column!r}: {values['email']!r} is not an e-mail address")
    if "phone" in values and normalize_phone(values["phone"], region=region) is None:
        column = mapping.columns.get("phone", "phone")
        raise InvalidInput(f"column {column!r}: {values['phone']!r} is not a phone number")


def _property_key(column: str) -> str:
    return re.sub(r"[^0-9a-zA-Z]+", "_", column.strip()).strip("_").lower() or "column"


def content_message_id(source: str, record: Any, seen: Counter[str]) -> str:
    """A messageId from the record's content: the same row imported again maps to the same id."""
    digest = hashlib.sha256(
        orjson.dumps([source, record], option=orjson.OPT_SORT_KEYS)
    ).hexdigest()[:32]
    seen[digest] += 1
    return f"import-{digest}-{seen[digest]}"


@dataclass(frozen=True)
class ImportRow:
    where: str  # "file.csv:12"
    event: dict[str, Any] | None
    error: str | None = None
    raw: Any = None


def read_csv(
    path: Path, mapping: ColumnMapping, *, source: str, region: str = "PL"
) -> Iterator[ImportRow]:
    seen: Counter[str] = Counter()
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    with path.open(newline="", encoding="utf-8-sig", errors="surrogateescape") as handle:
        # strict: an unterminated quote is an error to report, not a field that eats the file.
        reader = csv.DictReader(handle, delimiter=delimiter, strict=True)
        try:
            header = reader.fieldnames
        except csv.Error as exc:
            raise InvalidInput(f"{path.name}: the header row is not valid CSV ({exc})") from exc
        if not header:
            raise InvalidInput(f"{path.name} has no header row; the first line must name columns")
        if any(_SURROGATE.search(name) for name in header):
            raise InvalidInput(f"{path.name}: the header row is not UTF-8; re-save it as UTF-8")
        missing = [c for c in mapping.columns.values() if c not in header]
        if missing:
            raise InvalidInput(f"{path.name} has no column(s) {missing}; its columns are {header}")
        while True:
            try:
                row = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                yield ImportRow(f"{path.name}:{reader.line_num}", None, f"not valid CSV: {exc}")
                continue
            where = f"{path.name}:{reader.line_num}"
            if None in row:
                yield ImportRow(
                    where,
                    None,
                    f"the row has {len(row) - 1 + len(row[None])} "
                    f"fields, the header has {len(header)}",
                    row,
                )
                continue
            if any(v is None for v in row.values()):
                yield ImportRow(
                    where,
                    None,
                    f"the row has fewer fields than the header's {len(header)}",
                    row,
                )
                continue
            if any(_SURROGATE.search(v) for v in row.values() if v):
                yield ImportRow(
                    where, None, "the row is not valid UTF-8; re-save the file as UTF-8", None
                )
                continue
            try:
                event = row_to_event(row, mapping, region=region)
            except InvalidInput as exc:
                yield ImportRow(where, None, exc.message, row)
                continue
            event.setdefault("messageId", content_message_id(source, row, seen))
            yield ImportRow(where, event, None, row)


def read_jsonl(
    path: Path, mapping: ColumnMapping | None, *, source: str, region: str = "PL"
) -> Iterator[ImportRow]:
    """Each line is a Segment event, or a flat record when a mapping is given."""
    seen: Counter[str] = Counter()
    with path.open("rb") as handle:
        for number, line in enumerate(handle, start=1):
            where = f"{path.name}:{number}"
            if not line.strip():
                continue
            try:
                record = orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                yield ImportRow(
                    where, None, f"not valid JSON: {exc}", line[:200].decode("utf-8", "replace")
                )
                continue
            if not isinstance(record, dict):
                yield ImportRow(where, None, "each line must be a JSON object", record)
                continue
            try:
                event = row_to_event(record, mapping, region=region) if mapping else dict(record)
            except InvalidInput as exc:
                yield ImportRow(where, None, exc.message, record)
                continue
            if not event.get("messageId"):
                event.pop("messageId", None)  # null or "": derive one, as for a missing id
            event.setdefault("messageId", content_message_id(source, record, seen))
            yield ImportRow(where, event, None, record)


def detect_format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in (".csv", ".tsv"):
        return "csv"
    if suffix in (".jsonl", ".ndjson", ".json"):
        return "jsonl"
    raise InvalidInput(f"cannot tell the format of {path.name}; pass --format csv or jsonl")
