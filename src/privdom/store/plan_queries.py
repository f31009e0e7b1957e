"""SQL for the planner: candidate rows per rule, set-based over member_metrics and groups.

Every query returns only the rows a rule fires for (member or group, event date), never the whole
population, so a plan over a million members stays a handful of indexed scans. Values from the
playbook travel as parameters; the only SQL text built here comes from fixed fragments and from
`compile_condition`, which whitelists metric names and operators.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from privdom.playbook.conditions import compile_condition
from privdom.playbook.models import Audience


@dataclass(frozen=True)
class Window:
    """Event dates lo..hi (inclusive, YYYY-MM-DD) a rule fires for on the planned day."""

    lo: str
    hi: str


@dataclass
class MemberFilter:
    """The audience of a member rule as SQL over member_metrics aliased `m`."""

    sql: list[str] = field(default_factory=list)
    params: list[Any] = field(default_factory=list)


def audience_filter(audience: Audience, default_owner: str, *, in_group_types: bool = True) -> MemberFilter:
    """The member filter of `audience`. Its `group_types` keep the members who are in a group of
    those types today (`in_group_types=False` when the types mean something else: the groups an
    invite goes to, or the group a `joined_group` event joined)."""
    f = MemberFilter()

    def among(column: str, values: Sequence[str]) -> None:
        if values:
            f.sql.append(f"m.{column} IN ({','.join('?' * len(values))})")
            f.params.extend(values)

    among("tier", audience.tiers)
    among("lifecycle", audience.segments)
    among("rfm_class", audience.rfm_classes)
    if audience.tags:
        f.sql.append(
            f"EXISTS (SELECT 1 FROM json_each(m.tags) WHERE value IN ({','.join('?' * len(audience.tags))}))"
        )
        f.params.extend(audience.tags)
    if audience.owner is not None:
        f.sql.append("COALESCE(m.owner, ?) = ?")
        f.params.extend([default_owner, audience.owner])
    if audience.koc is not None:
        f.sql.append("COALESCE(m.koc, 0) = ?")
        f.params.append(1 if audience.koc else 0)
    if audience.where:
        sql, params = compile_condition(audience.where, alias="m")
        f.sql.append(f"({sql})")
        f.params.extend(params)
    if in_group_types and audience.group_types:
        types = audience.group_types
        f.sql.append(
            "EXISTS (SELECT 1 FROM group_members gm JOIN groups g ON g.group_id = gm.group_id"
            " WHERE gm.member_id = m.member_id AND gm.left_at IS NULL"
            f" AND g.type IN ({','.join('?' * len(types))}))"
        )
        f.params.extend(types)
    return f


# The event date of each member trigger, as an expression over member_metrics `m`.
EVENT_EXPR = {
    "joined": "m.joined_date",
    "first_order": "m.first_order_date",
    "tier_up": "m.tier_since",
    "entered_segment": "m.segment_since",
    "inactive_days": "m.last_order_date",
}

_MEMBER_COLUMNS = "m.member_id, COALESCE(NULLIF(TRIM(m.owner), ''), ?) AS owner"


def member_events(
    conn: sqlite3.Connection,
    trigger: str,
    window: Window,
    audience: MemberFilter,
    default_owner: str,
    *,
    extra: Sequence[str] = (),
    extra_params: Sequence[Any] = (),
) -> list[sqlite3.Row]:
    """(member_id, owner, event_date, group_id) for members whose event falls inside `window`."""
    expr = EVENT_EXPR[trigger]
    where = [f"{expr} BETWEEN ? AND ?", *extra, *audience.sql]
    sql = (
        f"SELECT {_MEMBER_COLUMNS}, {expr} AS event_date, NULL AS group_id, m.tier AS tier"
        " FROM member_metrics m WHERE " + " AND ".join(where)
    )
    return conn.execute(
        sql, [default_owner, window.lo, window.hi, *extra_params, *audience.params]
    ).fetchall()


@dataclass(frozen=True)
class EventQuery:
    """The arguments of one rule's `member_events`."""

    trigger: str
    window: Window
    audience: MemberFilter
    extra: Sequence[str] = ()
    extra_params: Sequence[Any] = ()


def member_events_together(
    conn: sqlite3.Connection, queries: Sequence[EventQuery], default_owner: str
) -> list[list[sqlite3.Row]]:
    """`member_events` of several queries of one trigger, in one pass over the union of their
    windows: the rows of each query, in the order of `queries`.

    Reading a member's row costs far more than testing it (at a million members the rows of a few
    days are spread over the whole table), so rules whose windows overlap, such as three win-back
    rules on entering a segment, read those rows once. Each query's own test is a column (`hit_N`),
    and a row is kept when any of them holds."""
    (expr,) = {EVENT_EXPR[query.trigger] for query in queries}
    tests: list[str] = []
    params: list[Any] = []
    for query in queries:
        tests.append(" AND ".join([f"{expr} BETWEEN ? AND ?", *query.extra, *query.audience.sql]))
        params += [query.window.lo, query.window.hi, *query.extra_params, *query.audience.params]
    hits = ", ".join(f"({test}) AS hit_{n}" for n, test in enumerate(tests))
    lo, hi = min(query.window.lo for query in queries), max(query.window.hi for query in queries)
    sql = (
        f"SELECT {_MEMBER_COLUMNS}, {expr} AS event_date, NULL AS group_id, m.tier AS tier, {hits}"
        f" FROM member_metrics m WHERE {expr} BETWEEN ? AND ? AND ("
        + " OR ".join(f"({test})" for test in tests)
        + ")"
    )
    rows = conn.execute(sql, [default_owner, *params, lo, hi, *params]).fetchall()
    first_hit = 5  # hit_0 follows member_id, owner, event_date, group_id and tier
    return [[row for row in rows if row[first_hit + n]] for n in range(len(queries))]


def joined_group_events(
    conn: sqlite3.Connection,
    window: Window,
    audience: MemberFilter,
    default_owner: str,
    group_types: Sequence[str] = (),
) -> list[sqlite3.Row]:
    """One row per member per join date; the first group (by id) joined that day, among the groups
    of `group_types` (any when empty), names the group; `group_owner` is that group's owner."""
    where = ["substr(gm.joined_at, 1, 10) BETWEEN ? AND ?", *audience.sql]
    params: list[Any] = [default_owner, window.lo, window.hi, *audience.params]
    if group_types:
        where.append(
            f"gm.group_id IN (SELECT group_id FROM groups WHERE type IN ({','.join('?' * len(group_types))}))"
        )
        params.extend(group_types)
    joins = (
        f"SELECT {_MEMBER_COLUMNS}, substr(gm.joined_at, 1, 10) AS event_date, MIN(gm.group_id) AS group_id "
        "FROM group_members gm JOIN member_metrics m ON m.member_id = gm.member_id WHERE "
        + " AND ".join(where)
        + " GROUP BY m.member_id, substr(gm.joined_at, 1, 10)"
    )
    sql = (
        f"SELECT e.*, NULLIF(TRIM(g.owner), '') AS group_owner FROM ({joins}) e"
        " LEFT JOIN groups g ON g.group_id = e.group_id"
    )
    return conn.execute(sql, params).fetchall()


def nth_order_events(
    conn: sqlite3.Connection,
    n: int,
    window: Window,
    audience: MemberFilter,
    default_owner: str,
    day: str,
) -> list[sqlite3.Row]:
    """Members whose n-th counted order (n >= 2) is dated inside `window`, which ends by `day`.

    Only a member whose last order (as of `day`, the snapshot's date) is inside the window can
    have an order there, so the scan starts from them, through an index on the snapshot. For each,
    two seeks into the (member_id, paid_at) index read the n-th and the (n-1)-th order's times: the
    n-th is the event when it is inside the window and strictly later than the (n-1)-th. That is
    "the order with exactly n-1 earlier orders": orders paid in the same second are no earlier than
    each other, so a tie at the n-th place is no n-th order.
    """
    if window.hi > day:
        raise ValueError("an n-th order window ends by the snapshot's day")
    nth = (
        "(SELECT p.paid_at FROM orders p WHERE p.member_id = m.member_id AND p.counted = 1"
        " AND p.paid_at IS NOT NULL ORDER BY p.paid_at LIMIT 1 OFFSET ?)"
    )
    where = ["m.last_order_date >= ?", *audience.sql]
    # Left for SQLite to flatten: the window test on the n-th time fails first for almost every
    # member, and then the (n-1)-th is never read (measured faster than materializing both).
    sql = (
        "SELECT member_id, owner, substr(nth, 1, 10) AS event_date, NULL AS group_id FROM ("
        f"SELECT {_MEMBER_COLUMNS}, {nth} AS nth, {nth} AS before_nth FROM member_metrics m WHERE "
        + " AND ".join(where)
        + ") WHERE nth >= ? AND nth < date(?, '+1 day') AND before_nth < nth"
    )
    params = [default_owner, n - 1, n - 2, window.lo, *audience.params, window.lo, window.hi]
    return conn.execute(sql, params).fetchall()


def birthday_events(
    conn: sqlite3.Connection, days: Sequence[tuple[str, str]], audience: MemberFilter, default_owner: str
) -> list[sqlite3.Row]:
    """`days` pairs a birthday month-day (MM-DD) with the event date it stands for this year."""
    if not days:
        return []
    values = ",".join("(?, ?)" for _ in days)
    params: list[Any] = []  # the CTE's VALUES come first in the text, so their parameters do too
    for md, event in days:
        params.extend([md, event])
    params.append(default_owner)
    where = ["d.md = COALESCE(m.birthday_md, substr(m.birthday, 6, 5))", *audience.sql]
    sql = (
        f"WITH d(md, event_date) AS (VALUES {values}) "
        f"SELECT {_MEMBER_COLUMNS}, d.event_date AS event_date, NULL AS group_id "
        "FROM member_metrics m JOIN d WHERE " + " AND ".join(where)
    )
    return conn.execute(sql, [*params, *audience.params]).fetchall()


def audience_members(
    conn: sqlite3.Connection, audience: MemberFilter, default_owner: str, event_date: str
) -> list[sqlite3.Row]:
    """Every member in the audience (calendar rules with a private action, e.g. member day)."""
    where = " AND ".join(audience.sql) or "1"
    sql = f"SELECT {_MEMBER_COLUMNS}, ? AS event_date, NULL AS group_id FROM member_metrics m WHERE {where}"
    return conn.execute(sql, [default_owner, event_date, *audience.params]).fetchall()


def owners(conn: sqlite3.Connection, default_owner: str, only: str | None) -> list[str]:
    """Every staff member who owns a member or a group (a moment post goes out once per owner)."""
    rows = conn.execute(
        "SELECT DISTINCT o FROM (SELECT COALESCE(owner, ?) AS o FROM members"
        " UNION SELECT COALESCE(owner, ?) FROM groups) "
        "WHERE ? IS NULL OR o = ? ORDER BY o",
        (default_owner, default_owner, only, only),
    )
    return [str(r[0]) for r in rows]


# ---------------------------------------------------------------- groups

_GROUP_COLUMNS = (
    "g.group_id, g.name, g.type, COALESCE(NULLIF(TRIM(g.owner), ''), ?) AS owner, g.size, g.capacity"
)


def _group_where(
    types: Sequence[str], owner: str | None, default_owner: str, day: str
) -> tuple[list[str], list[Any]]:
    sql = ["(g.created_at IS NULL OR substr(g.created_at, 1, 10) <= ?)"]
    params: list[Any] = [day]
    if types:
        sql.append(f"g.type IN ({','.join('?' * len(types))})")
        params.extend(types)
    if owner is not None:
        sql.append("COALESCE(g.owner, ?) = ?")
        params.extend([default_owner, owner])
    return sql, params


def groups_of_types(
    conn: sqlite3.Connection,
    types: Sequence[str],
    owner: str | None,
    default_owner: str,
    day: str,
    group_id: str | None = None,
) -> list[sqlite3.Row]:
    where, params = _group_where(types, owner, default_owner, day)
    if group_id is not None:
        where.append("g.group_id = ?")
        params.append(group_id)
    sql = (
        f"SELECT {_GROUP_COLUMNS}, ? AS event_date FROM groups g WHERE "
        + " AND ".join(where)
        + " ORDER BY g.group_id"
    )
    return conn.execute(sql, [default_owner, day, *params]).fetchall()


def groups_created(
    conn: sqlite3.Connection,
    types: Sequence[str],
    owner: str | None,
    default_owner: str,
    window: Window,
    day: str,
) -> list[sqlite3.Row]:
    where, params = _group_where(types, owner, default_owner, day)
    where.append("substr(g.created_at, 1, 10) BETWEEN ? AND ?")
    sql = (
        f"SELECT {_GROUP_COLUMNS}, substr(g.created_at, 1, 10) AS event_date FROM groups g WHERE "
        + " AND ".join(where)
    )
    return conn.execute(sql, [default_owner, *params, window.lo, window.hi]).fetchall()


_LAST_MESSAGE = (
    "(SELECT MAX(a.date) FROM activity a WHERE a.group_id = g.group_id AND a.messages > 0 AND a.date <= ?)"
)


def groups_silent(
    conn: sqlite3.Connection,
    types: Sequence[str],
    owner: str | None,
    default_owner: str,
    days: int,
    window: Window,
    day: str,
) -> list[sqlite3.Row]:
    """Groups whose silence reached `days` inside the window: the last message (or the creation,
    for a group nobody ever spoke in) was `days` days before the event date."""
    where, params = _group_where(types, owner, default_owner, day)
    sql = (
        f"SELECT * FROM (SELECT {_GROUP_COLUMNS}, "
        f"date(COALESCE({_LAST_MESSAGE}, substr(g.created_at, 1, 10)), ?) AS event_date, "
        f"{_LAST_MESSAGE} AS last_message "
        "FROM groups g WHERE " + " AND ".join(where) + ") WHERE event_date BETWEEN ? AND ?"
        # no activity data at all says nothing about silence: no group is called silent then
        " AND EXISTS (SELECT 1 FROM activity)"
    )
    return conn.execute(
        sql, [default_owner, day, f"+{int(days)} days", day, *params, window.lo, window.hi]
    ).fetchall()


def groups_near_capacity(
    conn: sqlite3.Connection,
    types: Sequence[str],
    owner: str | None,
    default_owner: str,
    ratio: float,
    rule: str,
    day: str,
) -> list[sqlite3.Row]:
    """Groups at ratio x capacity, once: not when a reminder for this rule and group was saved on an
    earlier day, open, done or skipped. The groups export holds only today's size, so a group
    that falls back under the ratio and fills up again cannot be told from one that stayed full;
    the reminder is not repeated for it."""
    where, params = _group_where(types, owner, default_owner, day)
    where += [
        "g.capacity > 0",
        "g.size >= ? * g.capacity",
        "NOT EXISTS (SELECT 1 FROM tasks t WHERE t.rule = ? AND t.group_id = g.group_id AND t.date < ?)",
    ]
    sql = f"SELECT {_GROUP_COLUMNS}, ? AS event_date FROM groups g WHERE " + " AND ".join(where)
    return conn.execute(sql, [default_owner, day, *params, ratio, rule, day]).fetchall()


def groups_with_room(conn: sqlite3.Connection, default_owner: str, day: str) -> list[sqlite3.Row]:
    """Groups that exist on `day` and have room (size < capacity): where an invite may go."""
    where, params = _group_where((), None, default_owner, day)
    where += ["g.capacity > 0", "COALESCE(g.size, 0) < g.capacity"]
    sql = f"SELECT {_GROUP_COLUMNS}, g.region FROM groups g WHERE " + " AND ".join(where) + " ORDER BY g.group_id"
    return conn.execute(sql, [default_owner, *params]).fetchall()


def member_places(conn: sqlite3.Connection, ids: Sequence[str]) -> dict[str, tuple[str | None, str | None]]:
    """member_id -> (store, region)."""
    if not ids:
        return {}
    sql = "SELECT member_id, store, region FROM members WHERE member_id IN (SELECT value FROM json_each(?))"
    return {str(r[0]): (r[1], r[2]) for r in conn.execute(sql, (json.dumps(list(ids)),))}


def current_groups(conn: sqlite3.Connection, ids: Sequence[str]) -> dict[str, set[str]]:
    """member_id -> the groups the member is in (joined, not left)."""
    out: dict[str, set[str]] = {}
    if not ids:
        return out
    sql = (
        "SELECT member_id, group_id FROM group_members WHERE left_at IS NULL"
        " AND member_id IN (SELECT value FROM json_each(?))"
    )
    for r in conn.execute(sql, (json.dumps(list(ids)),)):
        out.setdefault(str(r[0]), set()).add(str(r[1]))
    return out


def group_rows(conn: sqlite3.Connection, ids: Sequence[str]) -> dict[str, sqlite3.Row]:
    out: dict[str, sqlite3.Row] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        for row in conn.execute(
            f"SELECT * FROM groups WHERE group_id IN ({','.join('?' * len(chunk))})", chunk
        ):
            out[str(row["group_id"])] = row
    return out


def member_rows(conn: sqlite3.Connection, ids: Sequence[str]) -> dict[str, sqlite3.Row]:
    """member_metrics rows of the members who get a task (only those: rendering is lazy).

    The ids go in as one JSON list: one statement however many there are (member_metrics is
    indexed on member_id, as a snapshot view or a TEMP table).
    """
    if not ids:
        return {}
    sql = "SELECT * FROM member_metrics WHERE member_id IN (SELECT value FROM json_each(?))"
    return {str(row["member_id"]): row for row in conn.execute(sql, (json.dumps(list(ids)),))}


# ---------------------------------------------------------------- samples for `sop validate`

_MEMBER_KINDS = (
    "tier, lifecycle, name IS NULL, nickname IS NULL, owner IS NULL, store IS NULL, region IS NULL,"
    " COALESCE(orders_total, 0) = 0, last_order_date IS NULL, koc"
)


def sample_members(conn: sqlite3.Connection) -> list[sqlite3.Row]:
    """One member of every kind a template can meet: each tier and segment, with and without a
    name, nickname, owner, store, region and orders (member_metrics must be materialized)."""
    sql = (
        "SELECT * FROM member_metrics WHERE member_id IN"
        f" (SELECT MIN(member_id) FROM member_metrics GROUP BY {_MEMBER_KINDS}) ORDER BY member_id"
    )
    return conn.execute(sql).fetchall()


def sample_groups(conn: sqlite3.Connection) -> list[sqlite3.Row]:
    """One group of every kind: each type, with and without a name, size and capacity."""
    sql = (
        "SELECT * FROM groups WHERE group_id IN (SELECT MIN(group_id) FROM groups"
        " GROUP BY type, name IS NULL, size IS NULL, capacity IS NULL) ORDER BY group_id"
    )
    return conn.execute(sql).fetchall()
