"""One source record -> one staged tuple, per KIND. Pure: no database, no files.

A record is rejected only for structure or identity; any other unreadable cell becomes NULL and is
counted against its column.

This runs once per record on files of millions of rows, so the per-column work is decided once, in
`RowParser.__init__`: plain text columns are a strip, single-value columns go through one converter
(with a small cache for columns whose values repeat, such as amounts, dates, statuses), and only
phones, birthdays, tags and statuses, which fill several values, keep a handler method.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from privdom.ingest import cells
from privdom.ingest.headers import HeaderMap
from privdom.store.imports import COLUMNS, STAGE_ONLY

# Fields parsed by something other than "keep the text".
_PARSERS = {
    "phone": "phone",
    "gender": "gender",
    "birthday": "birthday",
    "joined_at": "datetime",
    "left_at": "datetime",
    "paid_at": "datetime",
    "created_at": "datetime",
    "last_order_at": "datetime",
    "date": "date",
    "tags": "tags",
    "points": "int",
    "growth": "int",
    "order_count": "int",
    "size": "int",
    "capacity": "int",
    "messages": "int",
    "images": "int",
    "total_spent_fen": "money",
    "amount_fen": "money",
    "type": "group_type",
    "status": "status",
}
# Converters whose results are worth remembering: their cells repeat a lot in real exports
# (prices, counts, dates, words). Times to the second rarely repeat, so they are not cached.
_CACHED = {"int", "money", "date", "gender", "group_type", "status", "birthday"}
# A cache stops growing here, so memory stays flat however many distinct values a column holds.
CACHE_LIMIT = 20_000

_PHONE_REASONS = {
    cells.PHONE_MASKED: "masked_phone",
    cells.PHONE_SCIENTIFIC: "scientific_phone",
    cells.PHONE_INVALID: "invalid_phone",
}
_PHONE_DIGITS = frozenset("3456789")

Handler = Callable[[str, list[object]], bool]
Convert = Callable[[str], object]
# The marker a converter returns for garbage: the cell is stored as NULL and counted.
BAD = object()
_MISS = object()
# One encoder, built once: json.dumps() would rebuild it for every cell.
_to_json = json.JSONEncoder(ensure_ascii=False).encode
_json_text = json.encoder.encode_basestring  # type: ignore[attr-defined]


class RowParser:
    """Turns cells into the stage tuple `(k, derived, act, *columns)`, or returns a reason code."""

    def __init__(self, kind: str, header: list[str], hmap: HeaderMap, tz: ZoneInfo) -> None:
        self.kind = kind
        self.columns = COLUMNS[kind] + STAGE_ONLY.get(kind, [])
        self.width = len(self.columns)
        self.pos = {name: i for i, name in enumerate(self.columns)}
        self.tz = tz
        self.nulled: dict[str, int] = {}
        self.phone_status = ""
        # Plain text fields: (cell index, value position).
        self.texts: list[tuple[int, int]] = []
        # One value per cell: (cell index, value position, column, converter, cache).
        self.converted: list[tuple[int, int, str, Convert, dict[str, object] | None]] = []
        # Several values per cell: (cell index, column, handler).
        self.handlers: list[tuple[int, str, Handler]] = []
        for name, index in hmap.fields.items():
            parser = _PARSERS.get(name, "text")
            column = header[index].strip()
            if name in self.pos and parser == "text":
                self.texts.append((index, self.pos[name]))
            elif parser in ("phone", "birthday", "tags", "status"):
                if name in self.pos or name == "birthday":
                    self.handlers.append((index, column, getattr(self, f"_{parser}")))
            elif name in self.pos:
                cache: dict[str, object] | None = {} if parser in _CACHED else None
                self.converted.append((index, self.pos[name], column, self._converter(parser), cache))
        self.tag_groups = hmap.tag_groups
        self.extra = hmap.extra
        self.extra_json = [(i, _json_text(name)) for i, name in hmap.extra]
        self.extra_names_unique = len({name for _, name in hmap.extra}) == len(hmap.extra)
        self.extra_at = self.pos["extra"]
        self.source_at = self.pos.get("source", -1)
        self.phone_at = self.pos.get("phone", -1)
        self.derived = 0
        self.has_tags = "tags" in self.pos
        self.date_index = hmap.fields.get("date", 0)
        self._status_cache: dict[str, tuple[str, int]] = {}
        self._identify: Callable[[list[object], list[str]], str | None] = {
            "members": self._identify_member,
            "orders": self._identify_order,
        }.get(kind, self._identify_other)

    def _converter(self, parser: str) -> Convert:
        """A one-argument function: a non-empty cell -> its value, None for a known blank, or BAD."""
        tz = self.tz
        if parser == "int":
            return _or_bad(cells.parse_int)
        if parser == "money":
            return _or_bad(cells.parse_money)
        if parser == "group_type":
            return _or_bad(cells.parse_group_type)
        if parser == "datetime":
            return _datetime_converter(tz)
        if parser == "date":

            def date(cell: str) -> object:
                text = cell.strip()
                if not text:
                    return None
                value = cells.parse_date(text, tz)
                return BAD if value is None else value

            return date
        if parser == "gender":

            def gender(cell: str) -> object:
                text = cell.strip()
                if not text:
                    return None
                value = cells.parse_gender(text)
                if value is None and text.lower() not in cells.UNKNOWN_WORDS:
                    return BAD
                return value

            return gender
        raise ValueError(f"no converter for {parser}")  # pragma: no cover - _PARSERS is data

    def _phone(self, cell: str, vals: list[object]) -> bool:
        if len(cell) == 11 and cell[0] == "1" and cell[1] in _PHONE_DIGITS and cell.isdigit() and cell.isascii():
            self.phone_status = cells.PHONE_OK
            vals[self.pos["phone"]] = cell
            return True
        value, status = cells.parse_phone(cell)
        self.phone_status = status
        if status == cells.PHONE_OK:
            vals[self.pos["phone"]] = value
            return True
        if status == cells.PHONE_MASKED and "phone_display" in self.pos:
            vals[self.pos["phone_display"]] = value
            return True
        return False

    def _birthday(self, cell: str, vals: list[object]) -> bool:
        full, month_day = cells.parse_birthday(cell, self.tz)
        vals[self.pos["birthday"]] = full
        vals[self.pos["birthday_md"]] = month_day
        return month_day is not None

    def _tags(self, cell: str, vals: list[object]) -> bool:
        vals[self.pos["tags"]] = cells.parse_tags(cell)
        return True

    def _status(self, cell: str, vals: list[object]) -> bool:
        known = self._status_cache.get(cell)
        if known is None:
            known = (cell, cells.order_counted(cell))
            if len(self._status_cache) < CACHE_LIMIT:
                self._status_cache[cell] = known
        vals[self.pos["status"]], vals[self.pos["counted"]] = known
        return True

    def values(self, row: list[str]) -> list[object] | str:
        """The record's values in `self.columns` order, or the reason it is rejected."""
        vals: list[object] = [None] * self.width
        self.phone_status = ""
        bad: list[str] | None = None
        for index, at in self.texts:
            cell = row[index]
            if cell:
                vals[at] = cell.strip() or None
        for index, at, column, convert, cache in self.converted:
            cell = row[index]
            if not cell:
                continue
            if cache is None:
                value = convert(cell)
            else:
                value = cache.get(cell, _MISS)
                if value is _MISS:
                    value = convert(cell)
                    if len(cache) < CACHE_LIMIT:
                        cache[cell] = value
            if value is BAD:
                if bad is None:
                    bad = [column]
                else:
                    bad.append(column)
            else:
                vals[at] = value
        for index, column, handle in self.handlers:
            cell = row[index].strip()
            if cell and not handle(cell, vals):
                if bad is None:
                    bad = [column]
                else:
                    bad.append(column)
        if self.has_tags:
            self._finish_tags(row, vals)
        if self.extra:
            vals[self.extra_at] = self._extra(row)
        reason = self._identify(vals, row)
        if reason is not None:
            return reason
        if bad:
            nulled = self.nulled
            for column in bad:
                nulled[column] = nulled.get(column, 0) + 1
        return vals

    def __call__(self, row: list[str]) -> tuple[object, ...] | str:
        """The stage tuple `(k, derived, act, *values)`, or the reason the record is rejected."""
        vals = self.values(row)
        if isinstance(vals, str):
            return vals
        return (self.key(vals), self.derived, self.activity(vals), *vals)

    def key(self, vals: list[object]) -> object:
        if self.kind == "members":
            return vals[0]
        if self.kind == "orders":
            return vals[0]
        return "\x1f".join(str(vals[self.pos[name]]) for name in _KEYS[self.kind])

    def activity(self, vals: list[object]) -> object:
        """Which of several records of one member wins a merge: the latest purchase, else add time."""
        if self.kind == "members":
            return vals[self.pos["last_order_at"]] or vals[self.pos["joined_at"]] or ""
        return ""

    def _extra(self, row: list[str]) -> str | None:
        """`extra` as JSON text, written directly: the same text json.dumps gives, at a fraction
        of the cost."""
        if not self.extra_names_unique:
            extra = {name: cell for i, name in self.extra if (cell := row[i].strip())}
            return _to_json(extra) if extra else None
        parts = [f"{name}: {_json_text(cell)}" for i, name in self.extra_json if (cell := row[i].strip())]
        return "{" + ", ".join(parts) + "}" if parts else None

    def _finish_tags(self, row: list[str], vals: list[object]) -> None:
        tags = vals[self.pos["tags"]]
        found: list[str] = list(tags) if isinstance(tags, list) else []
        for index, _group in self.tag_groups:
            for tag in cells.parse_tags(row[index]):
                if tag not in found:
                    found.append(tag)
        vals[self.pos["tags"]] = _to_json(found) if found else None

    def _identify_member(self, vals: list[object], row: list[str]) -> str | None:
        pos = self.pos
        self.derived = 0
        if not vals[0]:
            self.derived = 1
            vals[0] = vals[pos["external_userid"]] or vals[pos["phone"]]
            if not vals[0]:
                return _PHONE_REASONS.get(self.phone_status, "missing_id")
        vals[self.source_at] = "members"
        return None

    def _identify_order(self, vals: list[object], row: list[str]) -> str | None:
        if not vals[0]:
            return "missing_order_id"
        if not vals[1] and not vals[self.phone_at]:
            return _PHONE_REASONS.get(self.phone_status, "missing_member")
        return None

    def _identify_other(self, vals: list[object], row: list[str]) -> str | None:
        pos = self.pos
        if self.kind == "activity" and vals[pos["date"]] is None and row[self.date_index].strip():
            return "invalid_date"  # the date is part of the identity here
        if not all(vals[pos[name]] for name in _KEYS[self.kind]):
            return "missing_id"
        return None


def _or_bad(parse: Callable[[str], Any]) -> Convert:
    def convert(cell: str) -> object:
        text = cell.strip()
        if not text:
            return None
        value = parse(text)
        return BAD if value is None else value

    return convert


def _datetime_converter(tz: ZoneInfo) -> Convert:
    fromisoformat = datetime.fromisoformat

    def convert(cell: str) -> object:
        # The storage shape itself, with nothing around it: checking it is all there is to do.
        if len(cell) == 19 and cell[10] == " " and cell[4] == "-" and cell[0].isdigit() and cell[18].isdigit():
            try:
                fromisoformat(cell)
            except ValueError:
                return BAD
            return cell
        text = cell.strip()
        if not text:
            return None
        value = cells.parse_datetime(text, tz)
        return BAD if value is None else value

    return convert


_KEYS = {
    "groups": ("group_id",),
    "group-members": ("group_id", "member_id"),
    "activity": ("date", "group_id", "member_id"),
}
