"""Time-stamped records from operators' and partners' exports — phone records (CDR, "fadettes"),
plate-reader hits (LAPI) and bank transfers — read from CSV and sent to `POST /v1/events`.

    mapping = load_mapping(Path("importers/mappings/orange-like.yaml"))
    layout = Layout.open(path, "cdr", mapping)        # the header checked against the mapping
    for line, event, errors in layout.events(): ...  # one POST /v1/events item per good line

A file is read twice and never held in memory: the first pass checks every line, the second
sends the good ones in batches (`import_file`). With `on_error="abort"` nothing is sent when any
line is bad.

Columns are mapped to *fields* (`FIELDS`); without a mapping file the header must use the field
names themselves (`DEFAULT_COLUMNS`, documented in docs/importers.md). A mapping file
(`Mapping`, YAML) says which column is which field and how the file is written: encoding,
delimiter, date and time formats, time zone, decimal comma, duration format, value
vocabularies, constants. Times without an offset are local times of the mapping's time zone
(default Europe/Paris) and are sent with their ISO 8601 offset: a local time that does not
exist (the spring-forward hour) is a bad line; one that exists twice (the autumn fall-back
hour) is its first occurrence unless the mapping says `ambiguous_time: second` or `bad`.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import json
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from graph_schema import get_schema
from graph_schema.normalise import IdentifierError, normalise
from importers.loader import MAX_PROBLEMS_KEPT, ImportSummary

EventFormat = Literal["cdr", "lapi", "transfers"]
FORMATS: tuple[EventFormat, ...] = ("cdr", "lapi", "transfers")
KIND = {"cdr": "call", "lapi": "plate_read", "transfers": "transfer"}
MODES = ("voice", "sms", "data")
DIRECTIONS = ("out", "in")

COMMON_FIELDS = ("ref", "at", "date", "time", "sharing", "reliability", "accuracy", "handling", "handling_note")
FIELDS: dict[str, tuple[str, ...]] = {
    "cdr": (*COMMON_FIELDS, "from", "to", "party", "correspondent", "direction", "duration_s", "mode", "handset",
            "cell_ref", "cell_operator", "cell_lat", "cell_lon", "cell_azimuth"),
    "lapi": (*COMMON_FIELDS, "vehicle", "reader_ref", "reader_lat", "reader_lon"),
    "transfers": (*COMMON_FIELDS, "from", "to", "from_type", "to_type", "amount_eur", "reference",
                  "party", "correspondent", "direction", "debit", "credit"),
}
#: The header of a file imported without a mapping (any subset in any order; `at` may be given
#: as `date` + `time`, and a CDR's `from`/`to` as `party` + `correspondent` + `direction`).
DEFAULT_COLUMNS: dict[str, tuple[str, ...]] = {
    "cdr": ("ref", "at", "from", "to", "duration_s", "mode", "handset", "cell_ref", "cell_operator",
            "cell_lat", "cell_lon", "cell_azimuth", "sharing"),
    "lapi": ("ref", "at", "vehicle", "reader_ref", "reader_lat", "reader_lon", "sharing"),
    "transfers": ("ref", "at", "from", "to", "amount_eur", "reference", "from_type", "to_type", "sharing"),
}
# Per format, what a file must provide: for each entry, all the fields of one of its groups.
REQUIRED: dict[str, tuple[tuple[tuple[str, ...], ...], ...]] = {
    "cdr": ((("at",), ("date", "time")), (("from", "to"), ("party", "correspondent", "direction")), (("mode",),)),
    "lapi": ((("at",), ("date", "time")), (("vehicle",),), (("reader_ref",),)),
    "transfers": ((("at",), ("date",)), (("from", "to"), ("party", "correspondent")),
                  (("amount_eur",), ("debit", "credit"))),
}
ACCOUNT_TYPES = ("BankAccount", "CryptoWallet")
_BLANKS = re.compile(r"[\s\u00a0\u202f]+")
_HMS = re.compile(r"(?:(\d+):)?([0-5]?\d):([0-5]\d)")
_MSISDN = re.compile(r"[1-9]\d{10,14}")


class EventFormatError(ValueError):
    """A file or mapping that cannot be read at all (unknown column, missing field, bad mapping):
    nothing is sent until it is fixed."""


class Mapping(BaseModel):
    """How one operator's or partner's export is written. Every key is optional; see
    importers/mappings/ for two operators' layouts and docs/importers.md for each key."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    description: str = ""
    format: EventFormat | None = Field(
        default=None, description="The format this mapping is for, checked against --format")
    encoding: str = Field(
        default="utf-8", description="utf-8, cp1252 (Windows-1252), latin-1…; a UTF-8 BOM always wins")
    delimiter: str = ","
    quotechar: str = '"'
    skip_lines: int = Field(default=0, ge=0, description="Lines before the header (a title block)")
    skip_rows_matching: str | None = Field(default=None, description="A regular expression: data lines whose first "
                                                             "cell matches it are not records (totals, footers)")
    decimal: Literal[".", ","] = "."
    thousands: Literal["", ".", ",", "'"] = Field(
        default="", description="Thousands separator; spaces are always ignored")
    timezone: str = Field(default="Europe/Paris", description="Zone of times written without an offset")
    ambiguous_time: Literal["first", "second", "bad"] = Field(
        default="first", description="A local time that happens twice (autumn fall-back): which one, or a bad line")
    datetime_format: str | None = Field(default=None, description="strptime format of `at`; default ISO 8601")
    date_format: str = Field(default="%Y-%m-%d", description="strptime format of `date`")
    time_format: str = Field(default="%H:%M:%S", description="strptime format of `time`")
    duration: Literal["auto", "seconds", "hms"] = Field(
        default="auto", description="duration_s as seconds, as [H:]MM:SS, or either (auto)")
    msisdn: bool = Field(
        default=False, description="Phone numbers with their country code but no + or 00 (33612345678)")
    columns: dict[str, str] = Field(default_factory=dict, description="column name in the file -> field")
    values: dict[str, dict[str, str]] = Field(
        default_factory=dict, description="field -> {text in the file -> value} (mode, direction, sharing, …)")
    constants: dict[str, str] = Field(default_factory=dict, description="field -> value where the file has none")

    @field_validator("encoding")
    @classmethod
    def _encoding(cls, value: str) -> str:
        try:
            return codecs.lookup(value).name
        except LookupError:
            raise ValueError(f"unknown encoding {value!r}") from None

    @field_validator("delimiter", "quotechar")
    @classmethod
    def _one_character(cls, value: str) -> str:
        value = {"tab": "\t", "\\t": "\t"}.get(value, value)
        if len(value) != 1:
            raise ValueError("one character (a tab is 'tab' or \"\\t\")")
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (an IANA name such as Europe/Paris or UTC)") from None
        return value

    @field_validator("skip_rows_matching")
    @classmethod
    def _pattern(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"not a regular expression: {exc}") from None
        return value

    @model_validator(mode="after")
    def _separators(self) -> Mapping:
        if self.thousands == self.decimal:
            raise ValueError(f"thousands and decimal are both {self.decimal!r}")
        return self

    def check(self, fmt: str) -> None:
        """What depends on the format: the mapped fields exist for it."""
        if self.format is not None and self.format != fmt:
            raise EventFormatError(f"the mapping is for --format {self.format}, not {fmt}")
        known = FIELDS[fmt]
        for where, names in (("columns", list(self.columns.values())), ("values", list(self.values)),
                             ("constants", list(self.constants))):
            unknown = sorted(set(names) - set(known))
            if unknown:
                raise EventFormatError(f"mapping {where}: no field {', '.join(unknown)} in --format {fmt} "
                                       f"(fields: {', '.join(known)})")


def load_mapping(path: Path) -> Mapping:
    """A mapping file, or EventFormatError saying what is wrong in it."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise EventFormatError(f"{path}: cannot read the mapping: {exc}") from None
    try:
        return Mapping.model_validate(data or {})
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'mapping'}: {e['msg']}" for e in exc.errors())
        raise EventFormatError(f"{path}: {problems}") from None


# -- values ------------------------------------------------------------------------------------

class BadValue(ValueError):
    """One field of one line that cannot be read; the message names the field."""


def parse_number(text: str, mapping: Mapping) -> float:
    compact = _BLANKS.sub("", text)
    if mapping.thousands and mapping.thousands in compact:
        # Groups of exactly three digits, or "12.5" under thousands "." would silently read 125.
        whole = compact.split(mapping.decimal)[0].lstrip("+-")
        groups = whole.split(mapping.thousands)
        if not (1 <= len(groups[0]) <= 3 and all(len(g) == 3 for g in groups[1:]) and whole.replace(
                mapping.thousands, "").isdigit()):
            raise ValueError(f"{text!r}: {mapping.thousands!r} is the thousands separator, in groups of 3 digits")
        compact = compact.replace(mapping.thousands, "")
    if mapping.decimal == ",":
        if "." in compact and mapping.thousands != ".":
            raise ValueError(f"{text!r}: a decimal point where the mapping says decimal comma")
        compact = compact.replace(",", ".")
    elif "," in compact:
        raise ValueError(f"{text!r}: a comma where the mapping says decimal point (decimal: ',' for a comma)")
    try:
        return float(compact)
    except ValueError:
        raise ValueError(f"{text!r} is not a number") from None


def parse_duration(text: str, mapping: Mapping) -> int:
    compact = text.strip()
    hms = _HMS.fullmatch(compact)
    if hms and mapping.duration != "seconds":
        hours, minutes, seconds = (int(g) if g else 0 for g in hms.groups())
        return hours * 3600 + minutes * 60 + seconds
    if mapping.duration == "hms":
        raise ValueError(f"{text!r} is not [H:]MM:SS")
    value = parse_number(compact, mapping)
    if not value.is_integer() or value < 0:
        raise ValueError(f"{text!r} is not a whole number of seconds")
    return int(value)


@lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def localise(naive: dt.datetime, zone_name: str, ambiguous: str = "first") -> dt.datetime:
    """A wall-clock time of `zone_name` as an aware datetime: ValueError when it does not exist
    (clocks went forward over it), the chosen occurrence when it happens twice."""
    zone = _zone(zone_name)
    first, second = naive.replace(tzinfo=zone, fold=0), naive.replace(tzinfo=zone, fold=1)
    if first.astimezone(dt.UTC).astimezone(zone).replace(tzinfo=None) != naive:
        raise ValueError(f"{naive:%Y-%m-%d %H:%M:%S} does not exist in {zone_name} (clocks went forward)")
    if first.utcoffset() != second.utcoffset():
        if ambiguous == "bad":
            raise ValueError(f"{naive:%Y-%m-%d %H:%M:%S} happens twice in {zone_name} (clocks went back); "
                             "the mapping says ambiguous_time: bad")
        return second if ambiguous == "second" else first
    return first


def _iso(moment: dt.datetime) -> str:
    return moment.isoformat(timespec="microseconds" if moment.microsecond else "seconds")


def parse_time(record: dict[str, str], mapping: Mapping, date_only_allowed: bool) -> str:
    """`at`, or `date` + `time`, as ISO 8601 with an offset (a date alone where allowed)."""
    at, day, clock_text = record.get("at", ""), record.get("date", ""), record.get("time", "")
    if at:
        text = at.strip()
        if mapping.datetime_format:
            try:
                moment = dt.datetime.strptime(text, mapping.datetime_format)
            except ValueError:
                raise BadValue(f"at {text!r} does not match {mapping.datetime_format!r}") from None
        else:
            if len(text) == 10:  # a date alone (fromisoformat would read it as midnight)
                if not date_only_allowed:
                    raise BadValue(f"at {text!r} is a date without a time")
                try:
                    return dt.date.fromisoformat(text).isoformat()
                except ValueError:
                    raise BadValue(f"at {text!r} is not an ISO 8601 date") from None
            try:
                moment = dt.datetime.fromisoformat(text)
            except ValueError:
                raise BadValue(f"at {text!r} is not an ISO 8601 date and time") from None
    elif day:
        try:
            date = dt.datetime.strptime(day.strip(), mapping.date_format).date()
        except ValueError:
            raise BadValue(f"date {day!r} does not match {mapping.date_format!r}") from None
        if not clock_text:
            if date_only_allowed:
                return date.isoformat()
            raise BadValue("time is empty")
        try:
            clock = dt.datetime.strptime(clock_text.strip(), mapping.time_format).time()
        except ValueError:
            raise BadValue(f"time {clock_text!r} does not match {mapping.time_format!r}") from None
        moment = dt.datetime.combine(date, clock)
    else:
        raise BadValue("no date" if date_only_allowed else "no date and time")
    if moment.tzinfo is None:
        try:
            moment = localise(moment, mapping.timezone, mapping.ambiguous_time)
        except ValueError as exc:
            raise BadValue(f"at: {exc}") from None
    return _iso(moment)


def _identifier(type_: str, text: str, mapping: Mapping) -> str:
    """The identifier's normalised value, by the schema's normaliser for `type_`."""
    node = get_schema().nodes.get(type_)
    if node is None or not node.is_identifier:
        raise ValueError(f"{type_} is not an identifier type")
    value = _BLANKS.sub(" ", text).strip()
    if type_ == "Phone" and mapping.msisdn and _MSISDN.fullmatch(value):
        value = "+" + value
    try:
        return normalise(node.normaliser or "", value)
    except IdentifierError as exc:
        raise ValueError(f"{text!r}: {exc}") from None


# -- one line ----------------------------------------------------------------------------------

class _Line:
    """A record's fields (after `values` and `constants`) and the reasons it is bad."""

    def __init__(self, record: dict[str, str], mapping: Mapping) -> None:
        self.mapping = mapping
        self.errors: list[str] = []
        self.fields: dict[str, str] = {}
        for name, text in record.items():
            text = text.strip()
            vocabulary = mapping.values.get(name)
            if vocabulary and text:
                text = _lookup(vocabulary, text)
            if text:
                self.fields[name] = text
        for name, value in mapping.constants.items():
            self.fields.setdefault(name, value)

    def get(self, name: str) -> str:
        return self.fields.get(name, "")

    def fail(self, reason: str) -> None:
        self.errors.append(reason)

    def required(self, name: str) -> str:
        value = self.get(name)
        if not value:
            self.fail(f"{name} is empty")
        return value

    def convert(self, name: str, convert: Callable[[str], Any]) -> Any:
        text = self.get(name)
        if not text:
            return None
        try:
            return convert(text)
        except ValueError as exc:
            self.fail(f"{name}: {exc}")
            return None

    def one_of(self, name: str, allowed: tuple[str, ...], required: bool = False) -> str | None:
        text = self.required(name) if required else self.get(name)
        if text and text not in allowed:
            mapped = f" (map the file's values with values: {{{name}: …}})" if name not in ("sharing",) else ""
            self.fail(f"{name} {text!r} is not one of {', '.join(allowed)}{mapped}")
            return None
        return text or None

    def identifier(self, name: str, type_: str) -> dict[str, str] | None:
        value = self.convert(name, lambda text: _identifier(type_, text, self.mapping))
        return {"type": type_, "ref": value} if value is not None else None

    def number(self, name: str, low: float, high: float) -> float | None:
        def within(text: str) -> float:
            value = parse_number(text, self.mapping)
            if not low <= value <= high:
                raise ValueError(f"{value} is not between {low:g} and {high:g}")
            return value
        return self.convert(name, within)


def _lookup(vocabulary: dict[str, str], text: str) -> str:
    if text in vocabulary:
        return vocabulary[text]
    folded = text.casefold()
    for key, value in vocabulary.items():
        if key.casefold() == folded:
            return value
    return text


OWNED_KEYS = ("sharing", "reliability", "accuracy", "handling", "handling_note")


def _owned(line: _Line, event: dict[str, Any]) -> None:
    """The event's own ref, sharing and codes, as written: the service's model checks them."""
    for name in ("ref", *OWNED_KEYS):
        if line.get(name):
            event[name] = line.get(name)


def _at(line: _Line, event: dict[str, Any], date_only: bool) -> None:
    try:
        event["at"] = parse_time(line.fields, line.mapping, date_only)
    except BadValue as exc:
        line.fail(str(exc))


def _call(line: _Line) -> dict[str, Any]:
    event: dict[str, Any] = {"kind": "call"}
    _at(line, event, date_only=False)
    incoming = False
    if line.get("party") or line.get("correspondent") or line.get("direction"):
        # A requisitioned line's own records: its number, the other number, and which way.
        party = line.identifier("party", "Phone") if line.required("party") else None
        other = line.identifier("correspondent", "Phone") if line.required("correspondent") else None
        incoming = line.one_of("direction", DIRECTIONS, required=True) == "in"
        event["from"], event["to"] = (other, party) if incoming else (party, other)
    else:
        event["from"] = line.identifier("from", "Phone") if line.required("from") else None
        event["to"] = line.identifier("to", "Phone") if line.required("to") else None
    event["mode"] = line.one_of("mode", MODES, required=True)
    duration = line.convert("duration_s", lambda text: parse_duration(text, line.mapping))
    if duration is not None:
        event["duration_s"] = duration
    if incoming:
        # The handset and cell of such a row are the requisitioned line's, here the callee's; a call
        # carries the caller's (graph_schema: events.call), so they are not sent.
        _owned(line, event)
        return event
    handset = line.convert("handset", lambda text: _identifier("Handset", text, line.mapping))
    if handset is not None:
        event["handset"] = handset
    if line.get("cell_ref"):
        cell: dict[str, Any] = {"ref": line.get("cell_ref")}
        if line.get("cell_operator"):
            cell["operator"] = line.get("cell_operator")
        for name, key, low, high in (("cell_lat", "lat", -90, 90), ("cell_lon", "lon", -180, 180),
                                     ("cell_azimuth", "azimuth", 0, 360)):
            value = line.number(name, low, high)
            if value is not None:
                cell[key] = value
        event["cell"] = cell
    elif any(line.get(name) for name in ("cell_lat", "cell_lon", "cell_azimuth")):
        line.fail("cell_ref is empty (a cell's position needs its ref)")
    _owned(line, event)
    return event


def _plate_read(line: _Line) -> dict[str, Any]:
    event: dict[str, Any] = {"kind": "plate_read"}
    _at(line, event, date_only=False)
    vehicle = line.identifier("vehicle", "Vehicle") if line.required("vehicle") else None
    event["vehicle"] = vehicle["ref"] if vehicle else None
    reader: dict[str, Any] = {"ref": line.required("reader_ref")}
    for name, key, low, high in (("reader_lat", "lat", -90, 90), ("reader_lon", "lon", -180, 180)):
        value = line.number(name, low, high)
        if value is not None:
            reader[key] = value
    event["reader"] = reader
    _owned(line, event)
    return event


def _transfer(line: _Line) -> dict[str, Any]:
    event: dict[str, Any] = {"kind": "transfer"}
    _at(line, event, date_only=True)
    if line.get("party") or line.get("correspondent"):
        # A bank statement: the account's own rows, the other account, and which way the money went
        # (`direction`, else a debit or credit column, else the sign of `amount_eur`).
        amount, outgoing = _statement_amount(line)
        party = line.identifier("party", "BankAccount") if line.required("party") else None
        other = line.identifier("correspondent", "BankAccount") if line.required("correspondent") else None
        event["from"], event["to"] = (party, other) if outgoing else (other, party)
    else:
        for side in ("from", "to"):
            type_ = line.one_of(f"{side}_type", ACCOUNT_TYPES) or "BankAccount"
            event[side] = line.identifier(side, type_) if line.required(side) else None
        amount = line.number("amount_eur", 0, 1e15)
    if amount is not None:
        if amount <= 0:
            line.fail("amount_eur: a transfer moves more than 0")
        event["amount_eur"] = amount
    if line.get("reference"):
        event["reference"] = line.get("reference")
    _owned(line, event)
    return event


def _statement_amount(line: _Line) -> tuple[float | None, bool]:
    """A statement row's amount and whether it left the account (True) or came in."""
    debit, credit = line.number("debit", -1e15, 1e15), line.number("credit", -1e15, 1e15)
    signed = line.number("amount_eur", -1e15, 1e15)
    direction = line.one_of("direction", DIRECTIONS)
    if debit is not None and credit is not None and debit and credit:
        line.fail("debit and credit are both filled: one row moves money one way")
        return None, True
    if direction is not None and signed is not None:
        return abs(signed), direction == "out"
    if debit:
        return abs(debit), True
    if credit:
        return abs(credit), False
    if signed is not None:
        return abs(signed), signed < 0
    line.fail("no amount: fill debit, credit or amount_eur")
    return None, True


BUILDERS: dict[str, Callable[[_Line], dict[str, Any]]] = {"cdr": _call, "lapi": _plate_read, "transfers": _transfer}


def build_event(fmt: str, record: dict[str, str], mapping: Mapping) -> tuple[dict[str, Any] | None, list[str]]:
    """One record (field -> text) as a `POST /v1/events` item, or None and why not: first what the
    file's layout says (times, numbers, vocabularies), then the service's own model of an event."""
    line = _Line(record, mapping)
    event = BUILDERS[fmt](line)
    if line.errors:
        return None, line.errors
    errors = contract_errors(event)
    return (None, errors) if errors else (event, [])


def contract_errors(event: dict[str, Any]) -> list[str]:
    """What POST /v1/events would say of this one event, checked by the service's request model
    (service.domain.events.models), so that a file is judged whole before anything is sent."""
    from service.domain.events import models

    checked = models.event_models(get_schema())
    body = {models.SECTION: [event]}
    try:
        checked.batch.validate_python(body)
    except ValidationError as exc:
        return [f"{e['field'] or 'event'}: {e['message']}"
                for e in models._Errors(checked, body).translate(exc.errors())]
    return []


# -- a file ------------------------------------------------------------------------------------

def _open_text(path: Path, encoding: str) -> tuple[io.BufferedReader, io.TextIOWrapper]:
    raw = open(path, "rb")  # noqa: SIM115 — closed by the caller with the text wrapper
    if raw.peek(3)[:3] == codecs.BOM_UTF8:
        encoding = "utf-8-sig"  # a BOM says UTF-8 whatever the mapping says
    # Undecodable bytes become U+FFFD, reported on their line rather than stopping the file.
    return raw, io.TextIOWrapper(raw, encoding=encoding, errors="replace", newline="")


@dataclass(frozen=True)
class Layout:
    """A file's columns resolved to fields: which cell of a record is which field."""

    path: Path
    fmt: str
    mapping: Mapping
    positions: tuple[tuple[str, int], ...]  # (field, column index)
    header_line: int

    @classmethod
    def open(cls, path: Path, fmt: str, mapping: Mapping | None = None) -> Layout:
        """Read the header; EventFormatError when a column or a required field cannot be placed."""
        if fmt not in FIELDS:
            raise EventFormatError(f"unknown format {fmt!r}; one of {', '.join(FORMATS)}")
        mapping = mapping or Mapping()
        given = bool(mapping.columns)  # a mapping without columns: the default header, written its own way
        mapping.check(fmt)
        raw, text = _open_text(path, mapping.encoding)
        with raw, text:
            for _ in range(mapping.skip_lines):
                text.readline()
            try:
                header = next(csv.reader(text, delimiter=mapping.delimiter, quotechar=mapping.quotechar))
            except StopIteration:
                raise EventFormatError(f"{path}: no header line") from None
            except csv.Error as exc:
                raise EventFormatError(f"{path}: header: {exc}") from None
        names = [h.strip() for h in header]
        positions: dict[str, int] = {}
        if given:
            by_name = {n.casefold(): i for i, n in enumerate(names)}
            missing = [column for column in mapping.columns if column.strip().casefold() not in by_name]
            if missing:
                raise EventFormatError(f"{path.name}: no column {', '.join(repr(m) for m in missing)} "
                                       f"(the header has {', '.join(repr(n) for n in names)})")
            for column, name in mapping.columns.items():
                positions[name] = by_name[column.strip().casefold()]
        else:
            known = set(FIELDS[fmt])
            unknown = [n for n in names if n.lower() not in known]
            if unknown:
                raise EventFormatError(
                    f"{path.name}: unknown column {', '.join(repr(u) for u in unknown)}; the {fmt} columns are "
                    f"{', '.join(DEFAULT_COLUMNS[fmt])} (or give --mapping)")
            positions = {n.lower(): i for i, n in enumerate(names)}
        present = set(positions) | set(mapping.constants)
        for choices in REQUIRED[fmt]:
            if not any(set(group) <= present for group in choices):
                wanted = " or ".join(" + ".join(group) for group in choices)
                raise EventFormatError(f"{path.name}: no column for {wanted} (--format {fmt})")
        return cls(path, fmt, mapping, tuple(positions.items()), mapping.skip_lines + 1)

    def records(self, on_bytes: Callable[[int], None] | None = None
                ) -> Iterator[tuple[int, dict[str, str] | None, str]]:
        """(line number, field -> text, "") per record, or (line, None, reason) for an unreadable one.
        The line number is the record's first physical line in the file, the header being line
        `skip_lines + 1`."""
        mapping = self.mapping
        skip = re.compile(mapping.skip_rows_matching) if mapping.skip_rows_matching else None
        width = max((i for _, i in self.positions), default=-1) + 1
        raw, text = _open_text(self.path, mapping.encoding)
        with raw, text:
            for _ in range(self.header_line):
                text.readline()
            reader = csv.reader(text, delimiter=mapping.delimiter, quotechar=mapping.quotechar, strict=True)
            done, reported = self.header_line, 0
            while True:
                start = done + 1
                try:
                    row = next(reader)
                except StopIteration:
                    break
                except csv.Error as exc:
                    done = self.header_line + reader.line_num
                    yield start, None, f"not CSV: {exc}"
                    continue
                done = self.header_line + reader.line_num
                if on_bytes is not None:
                    position = raw.tell()
                    if position > reported:
                        on_bytes(position - reported)
                        reported = position
                if not any(cell.strip() for cell in row) or (skip is not None and row and skip.search(row[0])):
                    continue
                if any("\ufffd" in cell for cell in row):
                    yield start, None, f"bytes that are not {mapping.encoding} (set encoding: in the mapping)"
                    continue
                if len(row) < width:
                    yield start, None, f"{len(row)} cells where the header has at least {width}"
                    continue
                yield start, {name: row[i] for name, i in self.positions}, ""
            if on_bytes is not None and raw.tell() > reported:
                on_bytes(raw.tell() - reported)

    def events(self, on_bytes: Callable[[int], None] | None = None
               ) -> Iterator[tuple[int, dict[str, Any] | None, list[str]]]:
        """(line number, event, []) per good record, (line number, None, reasons) per bad one."""
        places = _Places()
        for line, record, reason in self.records(on_bytes):
            if record is None:
                yield line, None, [reason]
                continue
            event, errors = build_event(self.fmt, record, self.mapping)
            if event is not None:
                errors = places.check(line, event)
            yield line, (None if errors else event), errors


class _Places:
    """Each cell or reader of a file as its first line describes it. The service refuses a request
    that describes one place two ways; checked over the whole file (a few thousand places at most),
    an abort is decided before anything is sent."""

    def __init__(self) -> None:
        self.first: dict[str, tuple[int, str, dict[str, Any]]] = {}

    def check(self, line: int, event: dict[str, Any]) -> list[str]:
        from service.domain.events.models import place_ref

        name = "cell" if "cell" in event else "reader" if "reader" in event else ""
        if not name:
            return []
        given = event[name]
        ref = place_ref(given["ref"])
        props = {k: v for k, v in given.items() if k != "ref"}
        seen = self.first.setdefault(ref, (line, name, props))
        if seen[0] == line:
            return []
        if seen[1] != name:
            return [f"{name} {given['ref']!r} is a {seen[1]} on line {seen[0]}"]
        for key, value in props.items():
            if seen[2].setdefault(key, value) != value:
                return [f"{name} {given['ref']!r}: {key} {value} where line {seen[0]} says {seen[2][key]}"]
        return []


# -- sending -----------------------------------------------------------------------------------

class EventSender(Protocol):
    """What `import_file` needs of the API client (importers.client.IngestClient)."""

    def push_events(self, events: list[dict[str, Any]]) -> Any: ...


@dataclass
class EventImportSummary(ImportSummary):
    """ImportSummary plus the lines of the file: read, bad (with their numbers), sent."""

    read: int = 0
    bad: int = 0
    sent: int = 0
    events: Counter[str] = field(default_factory=Counter)
    bad_lines: list[tuple[int, str]] = field(default_factory=list)
    written: bool = False  # False when the import stopped before sending (abort on a bad line)

    def bad_line(self, line: int, reasons: list[str]) -> None:
        self.bad += 1
        reason = "; ".join(reasons)
        if len(self.bad_lines) < MAX_PROBLEMS_KEPT:
            self.bad_lines.append((line, reason))
        self.problem(f"line {line}: {reason}")

    def as_dict(self) -> dict[str, Any]:
        return {"read": self.read, "bad": self.bad, "sent": self.sent, "events": dict(self.events),
                "written": self.written, "bad_lines": [{"line": n, "reason": r} for n, r in self.bad_lines],
                "errors": self.errors, "problems": self.problems, "requests": self.requests,
                "retries": self.retries, "duplicates": self.duplicates}


def event_key(event: dict[str, Any]) -> str:
    """What makes two lines the same event for the service: its ref, else all of its content."""
    ref = event.get("ref")
    if ref:
        return f"ref:{ref}"
    # The service derives such an event's id from its content, sharing and codes aside.
    content = {k: v for k, v in event.items() if k not in OWNED_KEYS}
    return json.dumps(content, sort_keys=True, ensure_ascii=False)


def validate_file(layout: Layout, summary: EventImportSummary,
                  on_bytes: Callable[[int], None] | None = None) -> None:
    """The first pass: every line read and checked, nothing kept but the counts and the bad lines."""
    for line, event, errors in layout.events(on_bytes):
        summary.read += 1
        if event is None:
            summary.bad_line(line, errors)


def send_file(layout: Layout, client: EventSender, summary: EventImportSummary, *, chunk_size: int = 5000,
              on_bytes: Callable[[int], None] | None = None, on_sent: Callable[[int], None] | None = None) -> None:
    """The second pass: the good lines, in requests of `chunk_size` events. A line naming an event
    already in the request replaces it (the last mention is sent, as the file importers do)."""
    batch: list[dict[str, Any]] = []
    lines: list[int] = []
    at: dict[str, int] = {}
    for line, event, _errors in layout.events(on_bytes):
        if event is None:
            continue
        key = event_key(event)
        earlier = at.get(key)
        if earlier is not None:
            batch[earlier], lines[earlier] = event, line
            summary.duplicates += 1
            continue
        at[key] = len(batch)
        batch.append(event)
        lines.append(line)
        if len(batch) >= chunk_size:
            _send(client, batch, lines, summary, on_sent)
            batch, lines, at = [], [], {}
    if batch:
        _send(client, batch, lines, summary, on_sent)


def _send(client: EventSender, batch: list[dict[str, Any]], lines: list[int], summary: EventImportSummary,
          on_sent: Callable[[int], None] | None) -> None:
    from importers.client import ApiRequestError

    try:
        result = client.push_events(batch)
    except ApiRequestError as exc:
        # Atomic on the server: none of this request was written. Say which lines it blamed.
        details = exc.details if isinstance(exc.details, list) else []
        blamed = sorted({lines[d["index"]] for d in details
                         if isinstance(d, dict) and isinstance(d.get("index"), int) and 0 <= d["index"] < len(lines)})
        where = f" (lines {', '.join(map(str, blamed[:20]))})" if blamed else f" (lines {lines[0]}–{lines[-1]})"
        summary.problem(f"server refused {len(batch)} events{where}: {exc}", items=len(batch))
    else:
        summary.sent += len(batch)
        summary.events.update(result.counts)
        summary.requests += result.requests
        summary.retries += result.retries
    if on_sent is not None:
        on_sent(len(batch))


def import_file(layout: Layout, client: EventSender, summary: EventImportSummary | None = None, *,
                on_error: str = "abort", chunk_size: int = 5000, on_bytes: Callable[[int], None] | None = None,
                on_sent: Callable[[int], None] | None = None,
                on_phase: Callable[[str], None] | None = None) -> EventImportSummary:
    """Check the whole file, then send its good lines — none at all when `on_error` is "abort" and
    any line is bad. `on_phase` hears "check", then "send"."""
    summary = summary if summary is not None else EventImportSummary()
    if on_phase is not None:
        on_phase("check")
    validate_file(layout, summary, on_bytes)
    if summary.bad and on_error == "abort":
        return summary
    summary.written = True
    if on_phase is not None:
        on_phase("send")
    send_file(layout, client, summary, chunk_size=chunk_size, on_bytes=on_bytes, on_sent=on_sent)
    return summary


__all__ = [
    "DEFAULT_COLUMNS",
    "FIELDS",
    "FORMATS",
    "EventFormatError",
    "EventImportSummary",
    "Layout",
    "Mapping",
    "build_event",
    "import_file",
    "load_mapping",
    "localise",
    "parse_duration",
    "parse_number",
    "parse_time",
]
