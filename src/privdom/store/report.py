"""The queries behind `privdom report`.

Member-level figures read the TEMP table `member_metrics` that `metrics.materialize` fills, so the
report counts members exactly as `privdom members` and `privdom segments` do. Groups, activity and
tasks are read straight from their tables. Dates are bound as `YYYY-MM-DD` text; an upper bound is
written `< next day` so that both date and date-time text compare correctly.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import date, timedelta

BEFORE_TABLE = "report_segment_before"


@dataclass(frozen=True)
class FunnelCounts:
    members: int
    buyers: int
    repeat_buyers: int


@dataclass(frozen=True)
class GroupRow:
    group_id: str
    name: str | None
    type: str | None
    owner: str | None
    size: int
    capacity: int | None
    created_on: str | None
    messages_7: int
    images_7: int
    messages_30: int
    images_30: int
    last_message_on: str | None


@dataclass(frozen=True)
class OwnerTasks:
    owner: str | None
    open_tasks: int
    overdue_tasks: int


def keep_segments_as_before(conn: sqlite3.Connection) -> None:
    """Copy each member's lifecycle segment out of `member_metrics` before it is rebuilt for a later date."""
    conn.execute(f"DROP TABLE IF EXISTS temp.{BEFORE_TABLE}")
    conn.execute(
        f"CREATE TEMP TABLE {BEFORE_TABLE} AS SELECT member_id, lifecycle FROM member_metrics"
    )
    conn.execute(f"CREATE UNIQUE INDEX temp.{BEFORE_TABLE}_id ON {BEFORE_TABLE}(member_id)")


def drop_segments_before(conn: sqlite3.Connection) -> None:
    conn.execute(f"DROP TABLE IF EXISTS temp.{BEFORE_TABLE}")


def funnel_counts(conn: sqlite3.Connection) -> FunnelCounts:
    row = conn.execute(
        """
        SELECT count(*),
               coalesce(sum(coalesce(orders_total, 0) >= 1), 0),
               coalesce(sum(coalesce(orders_total, 0) >= 2), 0)
        FROM member_metrics
        """
    ).fetchone()
    return FunnelCounts(int(row[0]), int(row[1]), int(row[2]))


@dataclass(frozen=True)
class Move:
    existed_before: bool
    before: str | None
    now: str | None
    members: int


def segment_flow(conn: sqlite3.Connection) -> list[Move]:
    """Members per (segment before, segment now); `existed_before` is false for those who joined since."""
    rows = conn.execute(
        f"""
        SELECT b.member_id IS NOT NULL AS existed, b.lifecycle, m.lifecycle, count(*)
        FROM member_metrics AS m LEFT JOIN {BEFORE_TABLE} AS b ON b.member_id = m.member_id
        GROUP BY existed, b.lifecycle, m.lifecycle
        """
    ).fetchall()
    return [Move(bool(r[0]), r[1], r[2], int(r[3])) for r in rows]


def members_per_owner(conn: sqlite3.Connection) -> list[tuple[str | None, int]]:
    rows = conn.execute(
        "SELECT nullif(trim(owner), ''), count(*) FROM member_metrics GROUP BY nullif(trim(owner), '')"
    ).fetchall()
    return [(r[0], int(r[1])) for r in rows]


def open_tasks_per_owner(conn: sqlite3.Connection, as_of: date) -> list[OwnerTasks]:
    """Open tasks issued up to `as_of`; overdue ones were issued for an earlier day."""
    rows = conn.execute(
        """
        SELECT nullif(trim(owner), ''), count(*), coalesce(sum(date < :day), 0)
        FROM tasks
        WHERE status = 'open' AND date < :next_day
        GROUP BY nullif(trim(owner), '')
        """,
        {"day": as_of.isoformat(), "next_day": (as_of + timedelta(days=1)).isoformat()},
    ).fetchall()
    return [OwnerTasks(r[0], int(r[1]), int(r[2])) for r in rows]


def group_rows(conn: sqlite3.Connection, as_of: date) -> list[GroupRow]:
    """Every group that exists as of `as_of`, with its activity over the last 7 and 30 days."""
    params = {
        "next_day": (as_of + timedelta(days=1)).isoformat(),
        "from_7": (as_of - timedelta(days=6)).isoformat(),
        "from_30": (as_of - timedelta(days=29)).isoformat(),
    }
    rows = conn.execute(
        """
        WITH recent AS (
            SELECT group_id,
                   sum(CASE WHEN date >= :from_7 THEN messages ELSE 0 END) AS messages_7,
                   sum(CASE WHEN date >= :from_7 THEN images ELSE 0 END) AS images_7,
                   sum(messages) AS messages_30,
                   sum(images) AS images_30
            FROM activity
            WHERE date >= :from_30 AND date < :next_day
            GROUP BY group_id
        ),
        last_message AS (
            SELECT group_id, substr(max(date), 1, 10) AS last_message_on
            FROM activity
            WHERE date < :next_day AND messages > 0
            GROUP BY group_id
        ),
        roster AS (
            -- The size a group had on the day, for groups imported without a size column.
            SELECT group_id, count(*) AS size
            FROM group_members
            WHERE (joined_at IS NULL OR joined_at < :next_day)
              AND (left_at IS NULL OR left_at >= :next_day)
            GROUP BY group_id
        )
        SELECT g.group_id, g.name, g.type, g.owner,
               coalesce(g.size, roster.size, 0),
               g.capacity,
               substr(g.created_at, 1, 10),
               coalesce(recent.messages_7, 0), coalesce(recent.images_7, 0),
               coalesce(recent.messages_30, 0), coalesce(recent.images_30, 0),
               last_message.last_message_on
        FROM groups AS g
        LEFT JOIN recent USING (group_id)
        LEFT JOIN last_message USING (group_id)
        LEFT JOIN roster USING (group_id)
        WHERE g.created_at IS NULL OR g.created_at < :next_day
        ORDER BY g.group_id
        """,
        params,
    ).fetchall()
    return [
        GroupRow(
            group_id=r[0],
            name=r[1],
            type=r[2],
            owner=r[3],
            size=int(r[4]),
            capacity=None if r[5] is None else int(r[5]),
            created_on=r[6],
            messages_7=int(r[7]),
            images_7=int(r[8]),
            messages_30=int(r[9]),
            images_30=int(r[10]),
            last_message_on=r[11],
        )
        for r in rows
    ]
