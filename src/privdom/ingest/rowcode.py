"""The per-record function of a RowParser, written out as Python source once per file.

A file of millions of records runs this function millions of times. Written out for the file's own
header, it is straight-line code: each column's cell is read, converted and kept in a local, with no
loop over columns, no handler calls for plain text and no per-cell attribute look-ups. What each
column does is the same as the general rules in `cells`, which the generated code calls for every
cell that is not already in its common shape (or in a column's cache of repeated values).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from privdom.bounds import FIRST_YEAR, LAST_YEAR

# Converters whose cells repeat a lot in real exports (prices, counts, dates, words), so their
# results are cached. Times to the second rarely repeat and are not.
# Added to the column name in `nulled_by_column` for phones Excel wrote in scientific notation.
SCIENTIFIC_NOTE = "(scientific notation: digits lost / 科学计数法，号码已丢失)"

CACHED = frozenset({"int", "money", "date", "gender", "group_type"})


@dataclass
class Plan:
    """What the generated function does, column by column, in the order of the values it returns."""

    kind: str
    width: int
    lines: list[str] = field(default_factory=list)
    names: dict[str, Any] = field(default_factory=dict)
    assigned: set[int] = field(default_factory=set)

    def add(self, *lines: str) -> None:
        self.lines.extend(lines)

    def name(self, prefix: str, value: Any) -> str:
        key = f"{prefix}{len(self.names)}"
        self.names[key] = value
        return key

    def bad(self, column: str, indent: str) -> str:
        return f"{indent}bad.append({column!r})"

    def garbage_to_null(self, at: int, column: str, indent: str) -> tuple[str, ...]:
        """Field-level garbage never rejects a record: the value becomes NULL and the column is counted."""
        return (f"{indent}if v{at} is BAD:", f"{indent}    v{at} = None", self.bad(column, indent + "    "))


def text(plan: Plan, index: int, at: int) -> None:
    plan.assigned.add(at)
    plan.add(f"    v{at} = row[{index}].strip() or None")


def converted(plan: Plan, index: int, at: int, column: str, convert: Callable[[str], object],
              cached: bool) -> None:
    """One value from one cell via `convert` (None for a blank, BAD for garbage)."""
    plan.assigned.add(at)
    fn = plan.name("convert", convert)
    if not cached:
        plan.add(
            f"    c = row[{index}]",
            "    if c:",
            f"        v{at} = {fn}(c)",
            *plan.garbage_to_null(at, column, "        "),
            "    else:",
            f"        v{at} = None",
        )
        return
    cache = plan.name("cache", {})
    plan.add(
        f"    c = row[{index}]",
        "    if c:",
        f"        v{at} = {cache}.get(c, MISS)",
        f"        if v{at} is MISS:",
        f"            v{at} = {fn}(c)",
        f"            if len({cache}) < LIMIT:",
        f"                {cache}[c] = v{at}",
        *plan.garbage_to_null(at, column, "        "),
        "    else:",
        f"        v{at} = None",
    )


def moment(plan: Plan, index: int, at: int, column: str, convert: Callable[[str], object]) -> None:
    """A time cell: the storage shape itself is only checked (`cells.is_storage_shape` and
    `cells.in_years`, written out); anything else goes to `convert`."""
    plan.assigned.add(at)
    fn = plan.name("convert", convert)
    plan.add(
        f"    c = row[{index}]",
        '    if len(c) == 19 and c[4] == "-" and c[7] == "-" and c[10] == " " and c[13] == ":" and c[16] == ":":',
        "        try:",
        "            fromisoformat(c)",
        f"            v{at} = c",
        # cells.in_years, written out
        f'            if not "{FIRST_YEAR}" <= c[:4] <= "{LAST_YEAR}":',
        f"                v{at} = None",
        plan.bad(column, "                "),
        "        except ValueError:",
        f"            v{at} = None",
        plan.bad(column, "            "),
        "    elif c:",
        f"        v{at} = {fn}(c)",
        *plan.garbage_to_null(at, column, "        "),
        "    else:",
        f"        v{at} = None",
    )


def phone(plan: Plan, index: int, at: int, display_at: int | None, column: str) -> None:
    """The normalised phone, or the masked text kept for display; `phone_status` feeds the reject
    reason when the phone was the identity."""
    plan.assigned.add(at)
    if display_at is not None:
        plan.assigned.add(display_at)
        plan.add(f"    v{display_at} = None")
    masked = (
        [
            "            elif phone_status == PHONE_MASKED:",
            f"                v{display_at} = got",
        ]
        if display_at is not None
        else []
    )
    plan.add(
        f"    v{at} = None",
        f"    c = row[{index}].strip()",
        "    if c:",
        '        if len(c) == 11 and c[0] == "1" and c[1] in PHONE_SECOND and c.isdigit() and c.isascii():',
        f"            v{at} = c",
        "            phone_status = PHONE_OK",
        "        else:",
        "            got, phone_status = parse_phone(c)",
        "            if phone_status == PHONE_OK:",
        f"                v{at} = got",
        *masked,
        # Excel turned the number into 1.38E+10: the digits are gone, and the report says so.
        "            elif phone_status == PHONE_SCIENTIFIC:",
        plan.bad(f"{column} {SCIENTIFIC_NOTE}", "                "),
        "            else:",
        plan.bad(column, "                "),
    )


def pair(plan: Plan, index: int, ats: tuple[int, int], column: str, convert: Callable[[str], Any],
         counted_bad: bool) -> None:
    """Two values from one cell (birthday and month-day; status and counted), cached.

    With `counted_bad`, a second value of None means the cell was garbage.
    """
    first, second = ats
    plan.assigned.update(ats)
    fn = plan.name("convert", convert)
    cache = plan.name("cache", {})
    plan.add(
        f"    c = row[{index}].strip()",
        "    if c:",
        f"        got = {cache}.get(c)",
        "        if got is None:",
        f"            got = {fn}(c)",
        f"            if len({cache}) < LIMIT:",
        f"                {cache}[c] = got",
        f"        v{first}, v{second} = got",
    )
    if counted_bad:
        plan.add(f"        if v{second} is None:", plan.bad(column, "            "))
    plan.add("    else:", f"        v{first} = v{second} = None")


def tags(plan: Plan, index: int | None, at: int, groups: list[int]) -> None:
    """The tag column and every WeCom tag-group column, as one JSON array (order kept, no repeats).

    Without tag groups the JSON depends on the one cell only, and tag cells repeat: cached.
    """
    plan.assigned.add(at)
    if index is not None and not groups:
        cache = plan.name("cache", {})
        plan.add(
            f"    c = row[{index}].strip()",
            "    if c:",
            f"        got = {cache}.get(c)",
            "        if got is None:",
            "            found = parse_tags(c)",
            "            got = json_list(found) if found else ''",
            f"            if len({cache}) < LIMIT:",
            f"                {cache}[c] = got",
            f"        v{at} = got or None",
            "    else:",
            f"        v{at} = None",
        )
        return
    if index is None:
        plan.add("    found = []")
    else:
        plan.add(f"    c = row[{index}].strip()", "    found = parse_tags(c) if c else []")
    for group in groups:
        plan.add(
            f"    for tag in parse_tags(row[{group}]):",
            "        if tag not in found:",
            "            found.append(tag)",
        )
    plan.add(f"    v{at} = json_list(found) if found else None")


def extra(plan: Plan, at: int, columns: list[tuple[int, str]]) -> None:
    """`extra` as JSON text, written directly: the same text json.dumps gives, at a fraction of the
    cost. Repeated header names fall back to a dict (the last cell wins, as json.dumps would)."""
    plan.assigned.add(at)
    names = [name for _, name in columns]
    if len(set(names)) != len(names):
        items = ", ".join(f"({i}, {name!r})" for i, name in columns)
        plan.add(
            f"    e = {{name: c for i, name in ({items},) if (c := row[i].strip())}}",
            f"    v{at} = to_json(e) if e else None",
        )
        return
    if len(columns) == 1:
        (i, name), = columns
        key = plan.name("key", "{" + json_text(name) + ": ")
        plan.add(
            f"    c = row[{i}].strip()",
            f"    v{at} = {key} + json_text(c) + '}}' if c else None",
        )
        return
    plan.add("    parts = []")
    for i, name in columns:
        key = plan.name("key", json_text(name) + ": ")
        plan.add(f"    c = row[{i}].strip()", "    if c:", f"        parts.append({key} + json_text(c))")
    plan.add(f"    v{at} = '{{' + ', '.join(parts) + '}}' if parts else None")


def compile_plan(plan: Plan, identity: list[str], namespace: dict[str, Any]) -> Callable[[list[str]], Any]:
    """The function `values(row)`: the list of values, or the reason code of a rejected record.

    Text from the file (column names) enters the source only as repr() literals; converters,
    caches and JSON keys are passed in by name through the namespace.
    """
    head = ["def values(row):", "    bad = []", "    phone_status = ''"]
    head += [f"    v{p} = None" for p in range(plan.width) if p not in plan.assigned]
    tail = [
        "    if bad:",
        "        for column in bad:",
        "            nulled[column] = nulled.get(column, 0) + 1",
        "    return [" + ", ".join(f"v{p}" for p in range(plan.width)) + "]",
    ]
    source = "\n".join(head + plan.lines + identity + tail) + "\n"
    scope = dict(namespace, **plan.names)
    exec(compile(source, f"<privdom {plan.kind} record>", "exec"), scope)  # noqa: S102 - our own text
    values: Callable[[list[str]], Any] = scope["values"]
    values.__doc__ = source  # so a traceback or a reader can see what runs
    return values


def json_list(values: list[str]) -> str:
    """A JSON array of strings as json.dumps(..., ensure_ascii=False) writes it."""
    return "[" + ", ".join(map(_encode_basestring, values)) + "]"


def json_text(value: str) -> str:
    """A JSON string literal as json.dumps(..., ensure_ascii=False) writes it."""
    return str(_encode_basestring(value))


_encode_basestring = json.encoder.encode_basestring  # type: ignore[attr-defined]
