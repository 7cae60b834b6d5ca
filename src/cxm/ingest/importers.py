"""CSV and JSONL importers: turn rows of an interaction export into Segment events.

A :class:`ColumnMapping` says which column feeds which event field; columns it does not name
go into ``properties``. It also says how the export is written where that is not the default:
the CSV delimiter (found from the header line when not given), the text encoding (UTF-8, with
or without a byte-order mark; UTF-16 with one), the format of the timestamp column (ISO 8601
unless ``date_format`` gives a ``strptime`` format such as ``%d.%m.%Y %H:%M``) and the time
zone of timestamps that carry no offset (UTC unless ``timezone`` names another). Each row gets
a ``messageId`` derived from its content, so importing the same file twice stores nothing new.
Rows that cannot be turned into an event are reported with their line number and the reason;
the others are stored.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import re
import tomllib
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

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
# What spreadsheets and contact-centre systems separate columns with; the header line decides.
DELIMITERS = (",", ";", "\t", "|")
_DELIMITER_NAMES = {"tab": "\t", "\\t": "\t", "comma": ",", "semicolon": ";", "pipe": "|"}


@dataclass
class ColumnMapping:
    """Which column feeds which field, and constant values for fields no column carries."""

    columns: dict[str, str] = field(default_factory=dict)  # target → column
    defaults: dict[str, str] = field(default_factory=dict)  # target → constant
    extra_to_properties: bool = True
    # How the export is written (CSV only, except date_format and timezone):
    delimiter: str | None = None  # None: found from the header line (.tsv: tab)
    encoding: str = "utf-8"  # any Python codec name: cp1250, cp1251, utf-16, latin-1
    date_format: str | None = None  # strptime format of the timestamp column; None: ISO 8601
    timezone: str | None = None  # IANA zone of timestamps without an offset; None: UTC

    def check(self) -> None:
        for target in (*self.columns, *self.defaults):
            if target not in SIMPLE_TARGETS and not _DOTTED.match(target):
                raise InvalidInput(
                    f"unknown mapping target {target!r}; use one of "
                    f"{', '.join(sorted(SIMPLE_TARGETS))} or properties.X / traits.X / "
                    "context.traits.X"
                )
        if self.delimiter is not None:
            self.delimiter = _DELIMITER_NAMES.get(self.delimiter.lower(), self.delimiter)
            if len(self.delimiter) != 1 or self.delimiter in '"\r\n':
                raise InvalidInput(
                    f"the delimiter must be one character (or tab), got {self.delimiter!r}"
                )
        try:
            "".encode(self.encoding)  # a text encoding: rot13 and base64 are codecs too
        except LookupError:
            raise InvalidInput(
                f"unknown encoding {self.encoding!r}; use a name such as utf-8, cp1250 "
                "(Windows, Central European), cp1251 (Windows, Cyrillic) or utf-16"
            ) from None
        if self.date_format is not None and "%" not in self.date_format:
            raise InvalidInput(
                f"the date format {self.date_format!r} has no % fields; write it as for "
                "strptime, e.g. '%d.%m.%Y %H:%M' for 07.12.2026 14:35"
            )
        if self.timezone is not None:
            self.zone()

    def written_as(
        self,
        *,
        delimiter: str | None = None,
        encoding: str | None = None,
        date_format: str | None = None,
        timezone: str | None = None,
    ) -> ColumnMapping:
        """A copy with how the file is written changed where a value is given, checked."""
        changed = replace(
            self,
            delimiter=self.delimiter if delimiter is None else delimiter,
            encoding=self.encoding if encoding is None else encoding,
            date_format=self.date_format if date_format is None else date_format,
            timezone=self.timezone if timezone is None else timezone,
        )
        changed.check()
        return changed

    def zone(self) -> ZoneInfo | None:
        """The time zone of timestamps without an offset (None: they are UTC)."""
        if self.timezone is None:
            return None
        try:
            return ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise InvalidInput(
                f"unknown time zone {self.timezone!r}; use an IANA name such as Europe/Warsaw"
            ) from None

    @classmethod
    def from_file(cls, path: Path) -> ColumnMapping:
        """Read a TOML mapping: ``[columns]`` target = "Column", ``[defaults]`` target = value."""
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise InvalidInput(f"cannot read the mapping file {path}: {exc}") from exc
        unknown = set(data) - {"columns", "defaults", *_FILE_KEYS}
        if unknown:
            raise InvalidInput(
                f"{path.name}: unknown key(s) {sorted(unknown)}; a mapping file has [columns], "
                f"[defaults] and {', '.join(_FILE_KEYS)}"
            )
        file_keys = {}
        for key in _FILE_KEYS[1:]:
            if key in data:
                if not isinstance(data[key], str):
                    raise InvalidInput(f"{path.name}: {key} must be a string")
                file_keys[key] = data[key]
        mapping = cls(
            columns={str(k): str(v) for k, v in (data.get("columns") or {}).items()},
            defaults={str(k): str(v) for k, v in (data.get("defaults") or {}).items()},
            extra_to_properties=bool(data.get("extra_to_properties", True)),
            **file_keys,
        )
        mapping.check()
        return mapping

    @classmethod
    def from_pairs(
        cls, pairs: list[str], defaults: list[str] | None = None, **written: Any
    ) -> ColumnMapping:
        """From ``target=Column`` strings (the CLI's ``--map``) and ``target=value`` constants;
        ``written`` sets how the file is written (``delimiter=";"``, ``encoding="cp1250"``...)."""
        mapping = cls(
            columns=_pairs(pairs, "--map"), defaults=_pairs(defaults or [], "--set"), **written
        )
        mapping.check()
        return mapping


# Top-level keys of a mapping file besides its tables.
_FILE_KEYS = ("extra_to_properties", "delimiter", "encoding", "date_format", "timezone")


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
    if isinstance(values.get("timestamp"), str):
        values["timestamp"] = _timestamp(values["timestamp"], mapping)
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


def _timestamp(value: str, mapping: ColumnMapping) -> str:
    """The timestamp column as ISO 8601, read with the mapping's date format and time zone."""
    column = mapping.columns.get("timestamp", "timestamp")
    text = value.strip()
    try:
        if mapping.date_format:
            parsed = date_reader(mapping.date_format)(text)
        else:
            parsed = datetime.fromisoformat(text)
    except ValueError:
        if mapping.date_format:
            raise InvalidInput(
                f"column {column!r}: {value!r} does not match the date format "
                f"{mapping.date_format!r}"
            ) from None
        raise InvalidInput(
            f"column {column!r}: {value!r} is not an ISO 8601 timestamp; give the column's "
            "format with --date-format (date_format in a mapping file), "
            "e.g. '%d.%m.%Y %H:%M' for 07.12.2026 14:35"
        ) from None
    zone = mapping.zone()
    if not mapping.date_format and (parsed.tzinfo is not None or zone is None):
        return value  # ISO 8601 already, and nothing to add: stored as sent
    if parsed.tzinfo is None and zone is not None:
        parsed = parsed.replace(tzinfo=zone)  # an hour repeated by DST reads as the first
    return parsed.isoformat()


# strptime's own patterns (CPython's _strptime.TimeRE) for the plain numeric fields. A format of
# only these and literal text is read with one compiled regex: strptime takes ~14 µs a call here,
# most of an import's time per row, because it looks its format up again on every call.
_NUMERIC_FIELDS = {
    "d": r"(?P<d>3[0-1]|[1-2]\d|0[1-9]|[1-9]| [1-9])",
    "m": r"(?P<m>1[0-2]|0[1-9]|[1-9])",
    "Y": r"(?P<Y>\d\d\d\d)",
    "H": r"(?P<H>2[0-3]|[0-1]\d|\d)",
    "M": r"(?P<M>[0-5]\d|\d)",
    "S": r"(?P<S>6[0-1]|[0-5]\d|\d)",
}


@cache
def date_reader(date_format: str) -> Callable[[str], datetime]:
    """A function that reads text as ``datetime.strptime(text, date_format)`` does (the same
    results, the same ValueError), faster where the format has only %d %m %Y %H %M %S.

    >>> date_reader("%d.%m.%Y %H:%M")("7.12.2026  14:35")
    datetime.datetime(2026, 12, 7, 14, 35)
    """
    pattern = []
    fields = set()
    for piece in re.split(r"(%.)", date_format):
        if len(piece) == 2 and piece[0] == "%":
            field = _NUMERIC_FIELDS.get(piece[1])
            if field is None or piece[1] in fields:
                return lambda text: datetime.strptime(text, date_format)
            fields.add(piece[1])
            pattern.append(field)
        elif "%" in piece:  # "%%", or a stray % that strptime refuses
            return lambda text: datetime.strptime(text, date_format)
        else:  # as strptime: regex characters escaped, any whitespace matches any run of it
            literal = re.sub(r"([\\.^$*+?\(\){}\[\]|])", r"\\\1", piece)
            pattern.append(re.sub(r"\s+", r"\\s+", literal))
    if not {"d", "m", "Y"} <= fields:
        return lambda text: datetime.strptime(text, date_format)
    regex = re.compile("".join(pattern), re.IGNORECASE)

    def read(text: str) -> datetime:
        found = regex.match(text)
        if found is None or found.end() != len(text):
            raise ValueError(f"time data {text!r} does not match format {date_format!r}")
        g = found.groupdict()
        return datetime(int(g["Y"]), int(g["m"]), int(g["d"]), int(g.get("H") or 0),
                        int(g.get("M") or 0), int(g.get("S") or 0))  # fmt: skip

    return read


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
    encoding = _encoding(path, mapping.encoding)
    with path.open(newline="", encoding=encoding, errors="surrogateescape") as handle:
        first = handle.readline()
        delimiter = mapping.delimiter or _delimiter(first, path)
        handle.seek(0)
        # strict: an unterminated quote is an error to report, not a field that eats the file.
        reader = csv.DictReader(handle, delimiter=delimiter, strict=True)
        try:
            header = reader.fieldnames
        except csv.Error as exc:
            raise InvalidInput(f"{path.name}: the header row is not valid CSV ({exc})") from exc
        if not header:
            raise InvalidInput(f"{path.name} has no header row; the first line must name columns")
        if any(_SURROGATE.search(name) for name in header):
            raise InvalidInput(f"{path.name}: the header row {_not_encoded(encoding, header)}")
        missing = [c for c in mapping.columns.values() if c not in header]
        if missing:
            raise InvalidInput(
                f"{path.name} has no column(s) {missing}; its columns are {header} "
                f"(separated by {_DELIMITER_LABELS.get(delimiter, repr(delimiter))})"
            )
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
                message = f"the row {_not_encoded(encoding, row.values())}"
                yield ImportRow(where, None, message, None)
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


_DELIMITER_LABELS = {",": "commas", ";": "semicolons", "\t": "tabs", "|": "pipes"}
_BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
         (codecs.BOM_UTF16_BE, "utf-16"))  # fmt: skip


def _encoding(path: Path, asked: str) -> str:
    """The codec to read ``path`` with: a byte-order mark decides between the UTF variants
    (Excel writes "CSV UTF-8" with one, "Unicode text" as UTF-16); otherwise what was asked."""
    if codecs.lookup(asked).name not in ("utf-8", "utf-16"):
        return asked
    with path.open("rb") as handle:
        start = handle.read(4)
    for bom, codec in _BOMS:
        if start.startswith(bom):
            return codec
    return asked


def _delimiter(header_line: str, path: Path) -> str:
    """The most frequent of DELIMITERS in the header line, outside quotes (.tsv: tab)."""
    if path.suffix.lower() == ".tsv":
        return "\t"
    unquoted = re.sub(r'"[^"]*"', "", header_line)
    counts = {d: unquoted.count(d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: counts[d])  # ties keep the earlier: a comma
    return best if counts[best] else ","


def _not_encoded(encoding: str, decoded: Iterable[str]) -> str:
    """How text that did not decode is reported: with the code page its stray bytes (kept as
    surrogates by ``errors="surrogateescape"``) most look like, when the file was read as UTF."""
    name = codecs.lookup(encoding).name
    message = f"is not valid {name}"
    stray = bytes(ord(ch) - 0xDC00 for text in decoded for ch in _SURROGATE.findall(text))
    guess = guess_legacy_encoding(stray) if name.startswith("utf") else None
    if guess:
        codec, label = guess
        return (
            f"{message}; it looks like {label}: if the whole file is, import it with "
            f"--encoding {codec} (encoding in a mapping file), otherwise re-save it as UTF-8"
        )
    return f"{message}; give the file's encoding with --encoding, or re-save it as UTF-8"


_POLISH = set("ąćęłńóśźżĄĆĘŁŃÓŚŹŻ")


def guess_legacy_encoding(sample: bytes) -> tuple[str, str] | None:
    """Which Windows code page bytes that are not UTF-8 most likely are: the one whose reading
    of the high bytes gives the most letters of its languages (Polish letters for cp1250,
    Cyrillic for cp1251). None when neither explains most of them.

    >>> guess_legacy_encoding("Zażółć gęślą jaźń".encode("cp1250"))
    ('cp1250', 'Windows-1250 (Central European)')
    >>> guess_legacy_encoding("Роуминг не работает".encode("cp1251"))
    ('cp1251', 'Windows-1251 (Cyrillic)')
    """
    high = bytes(b for b in sample if b >= 0x80)
    if not high:
        return None
    polish = sum(ch in _POLISH for ch in high.decode("cp1250", "replace"))
    cyrillic = sum("\u0400" <= ch <= "\u04ff" for ch in high.decode("cp1251", "replace"))
    if max(polish, cyrillic) < len(high) / 2:
        return None
    if cyrillic > polish:
        return "cp1251", "Windows-1251 (Cyrillic)"
    return "cp1250", "Windows-1250 (Central European)"


def detect_format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in (".csv", ".tsv"):
        return "csv"
    if suffix in (".jsonl", ".ndjson", ".json"):
        return "jsonl"
    raise InvalidInput(f"cannot tell the format of {path.name}; pass --format csv or jsonl")
