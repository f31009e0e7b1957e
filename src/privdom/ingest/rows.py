"""One source record -> one staged tuple, per KIND. Pure: no database, no files.

A record is rejected only for structure or identity; any other unreadable cell becomes NULL and is
counted against its column.

This runs once per record on files of millions of rows, so the per-column work is decided once per
file: `RowParser` writes out a function for the file's header (see `rowcode`), in which plain text
columns are a strip, amounts, counts, dates and words go through a cache of the values already seen,
and only cells outside their common shape reach the general parsers of `cells`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from privdom.ingest import cells, rowcode
from privdom.ingest.headers import FOLDED_FIELDS, HeaderMap
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
# A cache stops growing here, so memory stays flat however many distinct values a column holds.
CACHE_LIMIT = 20_000

_PHONE_REASONS = {
    cells.PHONE_MASKED: "masked_phone",
    cells.PHONE_SCIENTIFIC: "scientific_phone",
    cells.PHONE_INVALID: "invalid_phone",
}

Convert = Callable[[str], object]
# The marker a converter returns for garbage: the cell is stored as NULL and counted.
BAD = object()
# One encoder, built once: json.dumps() would rebuild it for every cell.
_to_json = json.JSONEncoder(ensure_ascii=False).encode

# What the generated code may use besides its own converters and caches.
_NAMESPACE: dict[str, Any] = {
    "BAD": BAD,
    "MISS": object(),
    "LIMIT": CACHE_LIMIT,
    "PHONE_OK": cells.PHONE_OK,
    "PHONE_MASKED": cells.PHONE_MASKED,
    "PHONE_SCIENTIFIC": cells.PHONE_SCIENTIFIC,
    "PHONE_SECOND": frozenset("3456789"),
    "PHONE_REASONS": _PHONE_REASONS,
    "parse_phone": cells.parse_phone,
    "parse_tags": cells.parse_tags,
    "fromisoformat": datetime.fromisoformat,
    "to_json": _to_json,
    "json_text": json.encoder.encode_basestring,  # type: ignore[attr-defined]
    "json_list": rowcode.json_list,
    "id_problem": cells.id_problem,
    "PLACEHOLDER_MAX": cells.PLACEHOLDER_MAX,
    "parse_money": cells.parse_money,
    "order_counted": cells.order_counted,
}


def _id_problem(name: str) -> str:
    """The test `id_problem(name)` as code, with its first test inline: most ids pass it at once,
    and a call for each of a million records costs a tenth of their reading."""
    return f'(len({name}) <= PLACEHOLDER_MAX or {name}[0] == "#") and id_problem({name})'


class RowParser:
    """Turns cells into the stage tuple `(k, derived, act, *columns)`, or returns a reason code.

    `values(row)` gives the same values as a list in `self.columns` order (the insert-only path
    needs nothing else); `nulled` counts the cells of kept records that became NULL, per column.
    """

    def __init__(
        self,
        kind: str,
        header: list[str],
        hmap: HeaderMap,
        tz: ZoneInfo,
        *,
        phone_id: Callable[[str], str],
        match_blank: bool = True,
    ) -> None:
        """`phone_id` gives the member id of a member known by phone (store.identity); with
        `match_blank` a member record with a blank identity is kept to be matched by phone or
        WeCom id against the members already stored (on an empty table it is rejected at once)."""
        self.kind = kind
        self.phone_id = phone_id
        self.match_blank = match_blank
        self.columns = COLUMNS[kind] + STAGE_ONLY.get(kind, [])
        self.width = len(self.columns)
        self.pos = {name: i for i, name in enumerate(self.columns)}
        self.tz = tz
        self.nulled: dict[str, int] = {}
        # members: 1 when the identity came from the WeCom id or the phone, 2 when the record's
        # identity cell was blank and it is to be matched to a stored member.
        self.derived = 0
        self.values: Callable[[list[str]], list[object] | str] = self._compile(header, hmap)

    def _compile(self, header: list[str], hmap: HeaderMap) -> Callable[[list[str]], list[object] | str]:
        pos, tz = self.pos, self.tz
        plan = rowcode.Plan(self.kind, self.width)
        tag_index: int | None = None
        for name, index in hmap.fields.items():
            if name in FOLDED_FIELDS:
                continue
            parser = _PARSERS.get(name, "text")
            column = header[index].strip()
            if parser == "text":
                rowcode.text(plan, index, pos[name])
            elif parser == "phone":
                rowcode.phone(plan, index, pos[name], pos.get("phone_display"), column)
            elif parser == "birthday":
                rowcode.pair(plan, index, (pos["birthday"], pos["birthday_md"]), column,
                             lambda c: cells.parse_birthday(c, tz), counted_bad=True)
            elif parser == "status":
                rowcode.pair(plan, index, (pos["status"], pos["counted"]), column,
                             lambda c: (c, cells.order_counted(c)), counted_bad=False)
            elif parser == "tags":
                tag_index = index
            elif parser == "datetime":
                rowcode.moment(plan, index, pos[name], column, _or_bad(lambda c: cells.parse_datetime(c, tz)))
            else:
                rowcode.converted(plan, index, pos[name], column, _converter(parser, tz),
                                  cached=parser in rowcode.CACHED)
        if "tags" in pos:
            rowcode.tags(plan, tag_index, pos["tags"], [i for i, _group in hmap.tag_groups])
        if hmap.extra:
            rowcode.extra(plan, pos["extra"], hmap.extra)
        identity = self._identity_code(hmap, [c.strip() for c in header])
        namespace = dict(_NAMESPACE, nulled=self.nulled, parser=self, identify=self._identify_other,
                         phone_id=self.phone_id)
        return rowcode.compile_plan(plan, identity, namespace)

    def _identity_code(self, hmap: HeaderMap, header: list[str]) -> list[str]:
        """The lines that reject a record for its identity (they `return` the reason), run after
        every column is read; for orders, also the refund that makes the counted amount."""
        pos = self.pos
        if self.kind == "members":
            return self._member_identity(hmap, header)
        if self.kind == "orders":
            return [
                "    if not v0:",
                "        return 'missing_order_id'",
                f"    if {_id_problem('v0')} or (v1 and {_id_problem('v1')}):",
                "        return 'invalid_id'",
                f"    if not v1 and not v{pos['phone']}:",
                "        return PHONE_REASONS.get(phone_status, 'missing_member')",
                *self._amount_code(hmap, header),
                *self._refund_code(hmap, header),
            ]
        self.date_index = hmap.fields.get("date", 0)
        keys = ", ".join(f"v{pos[name]}" for name in _KEYS[self.kind])
        return [f"    reason = identify(({keys},), row)", "    if reason:", "        return reason"]

    def _member_identity(self, hmap: HeaderMap, header: list[str]) -> list[str]:
        """A member is keyed by the file's identity column (member_id, else the WeCom id, else
        the phone, which becomes a `p_` id). A record with that column blank is matched to a
        stored member by WeCom id or phone (`derived` 2), or rejected."""
        pos = self.pos
        ext, phone, source = f"v{pos['external_userid']}", f"v{pos['phone']}", f"v{pos['source']}"
        lines = [f"    if v0 and {_id_problem('v0')}:", "        return 'invalid_id'"]
        if "total_spent_fen" in hmap.fields:
            # A negative 累计消费金额 is no spend privdom can count: NULLed and counted, like garbage.
            spent = f"v{pos['total_spent_fen']}"
            lines += [f"    if {spent} is not None and {spent} < 0:", f"        {spent} = None",
                      f"        bad.append({header[hmap.fields['total_spent_fen']]!r})"]
        lines += [f"    if {ext} and id_problem({ext}, wecom=True):"]
        if hmap.identity == "external_userid":
            lines += ["        return 'invalid_id'"]
        else:
            # Not the identity here: a WeCom id of the wrong shape is a garbage cell, NULLed.
            column = header[hmap.fields["external_userid"]] if "external_userid" in hmap.fields else ""
            lines += [f"        {ext} = None", f"        bad.append({column!r})"]
        if hmap.identity == "member_id":
            lines += ["    if v0:", "        parser.derived = 0"]
        elif hmap.identity == "external_userid":
            lines += [f"    if {ext}:", f"        v0 = {ext}", "        parser.derived = 1"]
        else:
            lines += [f"    if {phone}:", f"        v0 = phone_id({phone})", "        parser.derived = 1"]
        lines += [
            f"    elif parser.match_blank and ({ext} or {phone}):",
            "        parser.derived = 2",
            "    else:",
            "        return PHONE_REASONS.get(phone_status, 'missing_id')",
            f"    {source} = 'members'",
        ]
        return lines

    def _amount_code(self, hmap: HeaderMap, header: list[str]) -> list[str]:
        """An order whose amount cell cannot be read (`#N/A`, an overflow) would be a counted order
        of an unknown amount, and a negative one (a POS return row) a counted order of less than
        nothing: the record is rejected (`invalid_amount`, `negative_amount`), not stored as ¥0."""
        if "amount_fen" not in hmap.fields:
            return []
        amount = f"v{self.pos['amount_fen']}"
        column = header[hmap.fields["amount_fen"]].strip()
        return [
            f"    if {amount} is None and {column!r} in bad:",
            "        return 'invalid_amount'",
            f"    if {amount} is not None and {amount} < 0:",
            "        return 'negative_amount'",
        ]

    def _refund_code(self, hmap: HeaderMap, header: list[str]) -> list[str]:
        """An order's refund (Youzan's 退款金额 / 退款状态): a refund of the whole amount makes the
        order not counted; a part of it counts the order at its amount less the refund."""
        pos = self.pos
        amount, status, counted = (f"v{pos[n]}" for n in ("amount_fen", "status", "counted"))
        lines: list[str] = []
        if "refund_fen" in hmap.fields:
            index = hmap.fields["refund_fen"]
            lines += [
                f"    c = row[{index}].strip()",
                "    refund = parse_money(c) if c else None",
                "    if c and refund is None:",
                f"        bad.append({header[index]!r})",
                f"    if refund and refund > 0 and {amount} is not None:",
                f"        if refund >= {amount}:",
                f"            {counted} = 0",
                "        else:",
                f"            {amount} = {amount} - refund",
                f"            if {counted} == 0 and {status} is not None and '退' in {status}:",
                f"                {counted} = 1",
            ]
        else:
            lines += ["    refund = None"]
        if "refund_status" in hmap.fields:
            lines += [
                f"    c = row[{hmap.fields['refund_status']}].strip()",
                "    if c and not refund and not order_counted(c):",
                f"        {counted} = 0",
            ]
        return lines

    def _identify_other(self, keys: tuple[object, ...], row: list[str]) -> str | None:
        if self.kind == "activity" and keys[0] is None and row[self.date_index].strip():
            return "invalid_date"  # the date is part of the identity here
        if not all(keys):
            return "missing_id"
        if any(isinstance(k, str) and cells.id_problem(k) for k in keys):
            return "invalid_id"
        return None

    def __call__(self, row: list[str]) -> tuple[object, ...] | str:
        """The stage tuple `(k, derived, act, *values)`, or the reason the record is rejected."""
        vals = self.values(row)
        if isinstance(vals, str):
            return vals
        return (self.key(vals), self.derived, self.activity(vals), *vals)

    def key(self, vals: list[object]) -> object:
        if self.kind in ("members", "orders"):
            return vals[0]
        return "\x1f".join(str(vals[self.pos[name]]) for name in _KEYS[self.kind])

    def activity(self, vals: list[object]) -> object:
        """Which of several records of one member wins a merge: the latest purchase, else add time."""
        if self.kind == "members":
            return vals[self.pos["last_order_at"]] or vals[self.pos["joined_at"]] or ""
        return ""


def _converter(parser: str, tz: ZoneInfo) -> Convert:
    """A one-argument function: a non-empty cell -> its value, None for a known blank, or BAD."""
    if parser == "int":
        return _or_bad(cells.parse_int)
    if parser == "money":
        return _or_bad(cells.parse_money)
    if parser == "group_type":
        return _or_bad(cells.parse_group_type)
    if parser == "date":
        return _or_bad(lambda c: cells.parse_date(c, tz))
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


def _or_bad(parse: Callable[[str], Any]) -> Convert:
    def convert(cell: str) -> object:
        text = cell.strip()
        if not text:
            return None
        value = parse(text)
        return BAD if value is None else value

    return convert


_KEYS = {
    "groups": ("group_id",),
    "group-members": ("group_id", "member_id"),
    "activity": ("date", "group_id", "member_id"),
}
