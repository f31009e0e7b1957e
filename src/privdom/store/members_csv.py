"""`members --format csv` at a million rows: SQLite prepares the cells that cost Python the most (money
in yuan, masked phones, joined tags, koc as True/False), so Python only escapes formula-like text
and hands the rows to the csv writer. A row this cannot reproduce exactly (money that is not whole fen,
a phone with characters other than printable ASCII, a name holding a phone number, tags not stored
as json.dumps writes a list of plain strings) is flagged `slow` and goes through the general path instead.

Kept apart from `metrics`, whose source is part of the metrics cache key.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from privdom.store.metrics import METRIC_COLUMNS, member_query


def _yuan(column: str) -> str:
    return (
        f"CASE WHEN typeof({column}) = 'integer' THEN printf('%s%d.%02d', CASE WHEN {column} < 0 THEN '-'"
        f" ELSE '' END, abs({column}) / 100, abs({column}) % 100) END"
    )


_ELEVEN_DIGITS = "[0-9]" * 11
# Tags are fast when the stored text is json.dumps' layout of plain strings: no backslash (so every
# quote delimits an item), "[" + '"' at the start, '"' + "]" at the end, and ", " between items, which
# holds exactly when there are twice as many quotes as items.
_QUOTES = "(length(tags) - length(replace(tags, '\"', '')))"
_ITEMS = "((length(tags) - length(replace(tags, '\", \"', ''))) / 4 + 1)"
_CSV_SLOW = (
    "NOT (typeof(spend_total) IN ('integer', 'null') AND typeof(spend_365) IN ('integer', 'null')"
    " AND (phone IS NULL OR phone NOT GLOB '*[^ -~]*')"
    # A name holding a phone number is masked by the general path.
    f" AND (name IS NULL OR name NOT GLOB '*1[3-9]{'[0-9]' * 9}*')"
    f" AND (tags = '[]' OR (instr(tags, char(92)) = 0 AND tags GLOB '[[]\"*\"]' AND {_QUOTES} = 2 * {_ITEMS})))"
)


def select(
    conn: sqlite3.Connection,
    filters: dict[str, str],
    limit: int | None,
    columns: Sequence[str],
    show_pii: bool,
) -> sqlite3.Cursor:
    """Rows of `columns` (CSV cells, see above) plus a last `slow` flag, in select_members' order."""
    masked = (
        f"CASE WHEN phone GLOB '{_ELEVEN_DIGITS}' THEN substr(phone, 1, 3) || '****' || substr(phone, 8)"
        " ELSE phone END"
    )
    cells = {
        "phone": f"COALESCE(NULLIF({'phone' if show_pii else masked}, ''), phone_display)",
        # json.dumps' own layout of a list of strings: the text between the quotes, joined
        "tags": "CASE WHEN tags <> '[]' THEN replace(substr(tags, 3, length(tags) - 4), '\", \"', ',') END",
        "spend_total": _yuan("spend_total"),
        "spend_365": _yuan("spend_365"),
    }
    exprs = []
    for column in columns:
        assert column in METRIC_COLUMNS, column  # column names come from code, never from the user
        if column == "koc":
            exprs.append("CASE WHEN koc THEN 'True' ELSE 'False' END")
        else:
            exprs.append(cells.get(column, column))
    return conn.execute(*member_query(f"{', '.join(exprs)}, {_CSV_SLOW} AS slow", filters, limit))
