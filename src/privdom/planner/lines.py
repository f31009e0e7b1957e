"""Plan lines: what a person reads and ticks off. One message posted by one owner at one time, by
one rule, to many groups is one line standing for one task per group; every other task is a line
of its own (a welcome that names each newcomer is a line per newcomer). A line that stands for
several tasks has an id of its own, and `done` on it closes them all.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from hashlib import sha1
from typing import Generic, TypeVar

from privdom.planner.models import Task

T = TypeVar("T", bound=Task)

SHORTEST_ID = 6  # a short id is a prefix of at least this many characters


def line_id(task_ids: Iterable[str]) -> str:
    """The id of a line standing for these tasks: the same tasks, the same id, on every run."""
    return sha1(("line|" + ",".join(sorted(task_ids))).encode()).hexdigest()[:12]


def collapses(action: str) -> bool:
    """Whether tasks of `action` share a line with others of their rule, time and owner."""
    return action == "group_post"


@dataclass
class Line(Generic[T]):
    """One line of the plan: a task, or a rule's group posts at one time by one owner."""

    tasks: list[T]

    @property
    def first(self) -> T:
        return self.tasks[0]

    @property
    def id(self) -> str:
        """The task's id, or the line's own id when it stands for several tasks."""
        return self.first.id if len(self.tasks) == 1 else line_id(t.id for t in self.tasks)

    @property
    def status(self) -> str | None:
        """`done` only when every task is done, `skipped` when every one is closed and some skipped,
        `open` when some are saved and open, None when none is saved."""
        statuses = {t.status for t in self.tasks}
        if statuses == {"done"}:
            return "done"
        if statuses <= {"done", "skipped"}:
            return "skipped"
        return "open" if "open" in statuses else None


def lines(tasks: Iterable[T]) -> list[Line[T]]:
    """Tasks (ordered by owner, due time, rule) as lines: the group posts of one rule, time, owner
    and message share one, at the place of the first of them, whether or not other tasks come
    between (two welcomes that read the same, in one owner's groups, are one line: as the saved
    lines `done` reads group them, store.tasks.line_tasks)."""
    out: list[Line[T]] = []
    shared: dict[tuple[str, str, str, str], Line[T]] = {}
    for t in tasks:
        if not collapses(t.action):
            out.append(Line([t]))
            continue
        key = (t.rule, t.due_at, t.owner, t.message)
        line = shared.get(key)
        if line is None:
            line = shared[key] = Line([t])
            out.append(line)
        else:
            line.tasks.append(t)
    return out


def short_ids(ids: Sequence[str], taken: Iterable[str] = ()) -> dict[str, str]:
    """Each id's shortest prefix (at least SHORTEST_ID characters) that no other id here or in
    `taken` starts with."""
    others = sorted(set(ids) | set(taken))
    out: dict[str, str] = {}
    for n, value in enumerate(others):
        # In sorted order the ids sharing the longest prefix with `value` are its neighbours.
        common = 0
        for neighbour in others[max(n - 1, 0) : n + 2]:
            if neighbour != value:
                common = max(common, _common_prefix(value, neighbour))
        out[value] = value[: max(SHORTEST_ID, common + 1)]
    return {i: out[i] for i in ids}


def _common_prefix(a: str, b: str) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n
