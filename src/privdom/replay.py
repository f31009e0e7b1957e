"""Mornings replayed on a temporary copy of the workspace: the shared engine of `simulate` and `sop diff`.

Each morning is the normal plan path (`planner.build_plan`, then `save_plan`), so caps, capacity,
catch-up and the metrics snapshot behave exactly as on a real morning; only the database is a copy,
deleted afterwards. The real workspace file is opened read-only to be copied, and never written.
"""

from __future__ import annotations

import sqlite3
import tempfile
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from privdom.planner import build_plan, save_plan
from privdom.planner.history import close
from privdom.planner.holdout import stable_fraction
from privdom.planner.models import PRIVATE_TOUCHES
from privdom.playbook.models import Playbook
from privdom.store import replay as store

_DONE_KEY = b"privdom simulate done"
SAVED_AT = time(8, 0)  # a replayed plan is saved at 08:00 and its done tasks closed at 21:00
CLOSED_AT = time(21, 0)


@dataclass
class Morning:
    """What one replayed morning planned: counts only, so a long replay holds no plans in memory."""

    date: str
    tasks: int
    by_owner: Counter[str] = field(default_factory=Counter)
    member_tasks_by_owner: Counter[str] = field(default_factory=Counter)
    by_rule: Counter[str] = field(default_factory=Counter)
    by_stage: Counter[str] = field(default_factory=Counter)
    deferred_by_cause: Counter[str] = field(default_factory=Counter)
    deferred_by_rule: Counter[str] = field(default_factory=Counter)
    held_out_by_rule: Counter[str] = field(default_factory=Counter)
    touches: Counter[str] = field(default_factory=Counter)  # member -> private touches to do
    done: int = 0


@contextmanager
def workspace_copy(db: Path, folder: Path | None = None) -> Iterator[sqlite3.Connection]:
    """A connection to a temporary copy of the workspace database, deleted on exit.

    With `folder`, the copy is made there and only the database goes on exit: what the metrics cache
    built beside it stays, so a second copy of the same data in the same folder (the other side of
    a `sop diff`) reads the snapshots of the first instead of building them again."""
    if folder is None:
        with tempfile.TemporaryDirectory(prefix="privdom-replay-") as tmp:
            with workspace_copy(db, Path(tmp)) as conn:
                yield conn
        return
    target = folder / "privdom.db"
    conn = store.copy_workspace(db, target)
    try:
        yield conn
    finally:
        conn.close()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{target}{suffix}").unlink(missing_ok=True)


def days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def done_by_replay(task_id: str, done_rate: float) -> bool:
    """Whether a replay marks this task done: a fixed share, the same tasks on every run."""
    return stable_fraction(task_id, key=_DONE_KEY) < done_rate


def replay(
    conn: sqlite3.Connection, playbook: Playbook, first: date, last: date, *, done_rate: float = 0.0
) -> list[Morning]:
    """Plan and save every morning first..last on `conn` (a copy), marking `done_rate` of new tasks done."""
    zone = ZoneInfo(playbook.timezone)
    out: list[Morning] = []
    for day in days(first, last):
        plan = build_plan(conn, playbook, day)
        save_plan(conn, plan, saved_at=datetime.combine(day, SAVED_AT, zone))
        fresh = [t for t in plan.tasks if not t.existing]
        done = [t.id for t in fresh if done_rate > 0 and done_by_replay(t.id, done_rate)]
        if done:
            close(conn, done, skip=False, note=None, closed_at=datetime.combine(day, CLOSED_AT, zone))
        m = Morning(date=day.isoformat(), tasks=len(plan.tasks), done=len(done))
        for t in plan.tasks:
            m.by_owner[t.owner] += 1
            m.by_rule[t.rule] += 1
            m.by_stage[t.stage] += 1
            if t.member_id is not None:
                m.member_tasks_by_owner[t.owner] += 1
                if t.action in PRIVATE_TOUCHES:
                    m.touches[t.member_id] += 1
        for d in plan.deferred:
            m.deferred_by_cause[d.cause] += 1
            m.deferred_by_rule[d.rule] += 1
        for h in plan.held_out:
            m.held_out_by_rule[h.rule] += 1
        out.append(m)
    return out
