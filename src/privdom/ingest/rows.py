"""One source record -> one staged tuple, per KIND. Pure: no database, no files.

A record is rejected only for structure or identity; any other unreadable cell becomes NULL and is
counted against its column.
"""

from __future__ import annotations

import json
from collections.abc import Callable
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

_PHONE_REASONS = {
    cells.PHONE_MASKED: "masked_phone",
    cells.PHONE_SCIENTIFIC: "scientific_phone",
    cells.PHONE_INVALID: "invalid_phone",
}

Handler = Callable[[str, list[object]], bool]
# One encoder, built once: json.dumps() would rebuild it for every cell.
_to_json = json.JSONEncoder(ensure_ascii=False).encode


class RowParser:
    """Turns cells into the stage tuple `(k, derived, act, *columns)`, or returns a reason code."""

    def __init__(self, kind: str, header: list[str], hmap: HeaderMap, tz: ZoneInfo) -> None:
        self.kind = kind
        self.columns = COLUMNS[kind] + STAGE_ONLY.get(kind, [])
        self.pos = {name: i for i, name in enumerate(self.columns)}
        self.tz = tz
        self.nulled: dict[str, int] = {}
        self.phone_status = ""
        self.handlers: list[tuple[int, str, Handler]] = []
        # Plain text fields skip the handler call: most columns are text, and this runs per cell.
        self.texts: list[tuple[int, int]] = []
        for name, index in hmap.fields.items():
            if name in self.pos and _PARSERS.get(name, "text") == "text":
                self.texts.append((index, self.pos[name]))
            elif name in self.pos or name == "birthday":
                self.handlers.append((index, header[index].strip(), self._handler(name)))
        self.tag_groups = hmap.tag_groups
        self.extra = hmap.extra
        self.has_tags = "tags" in self.pos
        self.date_index = hmap.fields.get("date", 0)

    def _handler(self, name: str) -> Handler:
        kind = _PARSERS.get(name, "text")
        pos = self.pos.get(name, -1)
        tz = self.tz
        if kind == "text":

            def text(cell: str, vals: list[object]) -> bool:
                vals[pos] = cell
                return True

            return text
        if kind in ("int", "money", "group_type"):
            parse: Callable[[str], object] = {
                "int": cells.parse_int,
                "money": cells.parse_money,
                "group_type": cells.parse_group_type,
            }[kind]

            def number(cell: str, vals: list[object]) -> bool:
                value = parse(cell)
                vals[pos] = value
                return value is not None

            return number
        if kind in ("datetime", "date"):
            when = cells.parse_datetime if kind == "datetime" else cells.parse_date

            def moment(cell: str, vals: list[object]) -> bool:
                value = when(cell, tz)
                vals[pos] = value
                return value is not None

            return moment
        return getattr(self, f"_{kind}")  # type: ignore[no-any-return]

    def _phone(self, cell: str, vals: list[object]) -> bool:
        value, status = cells.parse_phone(cell)
        self.phone_status = status
        if status == cells.PHONE_OK:
            vals[self.pos["phone"]] = value
            return True
        if status == cells.PHONE_MASKED and "phone_display" in self.pos:
            vals[self.pos["phone_display"]] = value
            return True
        return False

    def _gender(self, cell: str, vals: list[object]) -> bool:
        value = cells.parse_gender(cell)
        vals[self.pos["gender"]] = value
        return value is not None or cell.lower() in cells.UNKNOWN_WORDS

    def _birthday(self, cell: str, vals: list[object]) -> bool:
        full, month_day = cells.parse_birthday(cell, self.tz)
        vals[self.pos["birthday"]] = full
        vals[self.pos["birthday_md"]] = month_day
        return month_day is not None

    def _tags(self, cell: str, vals: list[object]) -> bool:
        vals[self.pos["tags"]] = cells.parse_tags(cell)
        return True

    def _status(self, cell: str, vals: list[object]) -> bool:
        vals[self.pos["status"]] = cell
        vals[self.pos["counted"]] = cells.order_counted(cell)
        return True

    def __call__(self, row: list[str]) -> tuple[object, ...] | str:
        vals: list[object] = [None] * len(self.columns)
        self.phone_status = ""
        bad: list[str] = []
        for index, at in self.texts:
            cell = row[index].strip()
            if cell:
                vals[at] = cell
        for index, column, handle in self.handlers:
            cell = row[index].strip()
            if cell and not handle(cell, vals):
                bad.append(column)
        if self.has_tags:
            self._finish_tags(row, vals)
        if self.extra:
            extra = {name: cell for i, name in self.extra if (cell := row[i].strip())}
            vals[self.pos["extra"]] = _to_json(extra) if extra else None
        staged = self._identify(vals, row)
        if bad and not isinstance(staged, str):
            nulled = self.nulled
            for column in bad:
                nulled[column] = nulled.get(column, 0) + 1
        return staged

    def _finish_tags(self, row: list[str], vals: list[object]) -> None:
        tags = vals[self.pos["tags"]]
        found: list[str] = list(tags) if isinstance(tags, list) else []
        for index, _group in self.tag_groups:
            for tag in cells.parse_tags(row[index]):
                if tag not in found:
                    found.append(tag)
        vals[self.pos["tags"]] = _to_json(found) if found else None

    def _identify(self, vals: list[object], row: list[str]) -> tuple[object, ...] | str:
        pos = self.pos
        if self.kind == "members":
            derived = 0
            if not vals[pos["member_id"]]:
                derived = 1
                vals[pos["member_id"]] = vals[pos["external_userid"]] or vals[pos["phone"]]
                if not vals[pos["member_id"]]:
                    return _PHONE_REASONS.get(self.phone_status, "missing_id")
            vals[pos["source"]] = "members"
            act = vals[pos["last_order_at"]] or vals[pos["joined_at"]] or ""
            return (vals[pos["member_id"]], derived, act, *vals)
        if self.kind == "orders":
            if not vals[pos["order_id"]]:
                return "missing_order_id"
            if not vals[pos["member_id"]] and not vals[pos["phone"]]:
                return _PHONE_REASONS.get(self.phone_status, "missing_member")
            return (vals[pos["order_id"]], 0, "", *vals)
        if self.kind == "activity" and vals[pos["date"]] is None and row[self.date_index].strip():
            return "invalid_date"  # the date is part of the identity here
        key_parts = [vals[pos[name]] for name in _KEYS[self.kind]]
        if not all(key_parts):
            return "missing_id"
        return ("\x1f".join(str(p) for p in key_parts), 0, "", *vals)


_KEYS = {
    "groups": ("group_id",),
    "group-members": ("group_id", "member_id"),
    "activity": ("date", "group_id", "member_id"),
}
