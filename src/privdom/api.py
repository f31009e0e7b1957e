"""`privdom.Workspace`: the library every command is a thin layer over.

A script does what the command line does, and gets the same pydantic models the JSON formats dump:

    ws = privdom.Workspace("brand")              # a folder with privdom.db and sops/
    plan = ws.plan(date(2026, 11, 23))           # plan.model_dump_json() is `privdom plan -f json`
    for post in ws.schedule(date(2026, 11, 23), 7).posts: ...

Dates are passed in: only the caller knows what "today" is (the command line reads the clock; a
script may plan any day). The clock is read here only for the moment a plan is saved or a task
closed (when the caller gives none) and for `member()` without a day (`Workspace.now`).
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import closing
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from privdom import labels, store
from privdom.errors import PrivdomError
from privdom.playbook import Playbook, load_playbook

# The parts of privdom each method needs are imported in the method: a command is a process of its
# own, and `privdom plan` should not pay for loading the import's readers, nor `privdom import` for
# the planner's templates (a tenth of a second at each start, twice each morning).
if TYPE_CHECKING:
    from privdom.ingest import ImportReport
    from privdom.metrics import MemberProfile
    from privdom.planner import Plan, SavedTask
    from privdom.records import Member
    from privdom.schedule import Schedule
    from privdom.segments import Distribution

StrPath = str | os.PathLike[str]


class Workspace:
    """A privdom workspace: its database and its playbooks.

    `Workspace(path)` takes the folder `privdom init` made; `db=` and `sops=` point at either part
    elsewhere (as `--db` and `--sops` do). Nothing is opened until a method needs it.
    """

    def __init__(self, path: StrPath | None = None, *, db: StrPath | None = None, sops: StrPath | None = None) -> None:
        base = Path(path) if path is not None else Path()
        self.db = Path(db) if db is not None else base / "privdom.db"
        self.sops = Path(sops) if sops is not None else base / "sops"
        self._playbook: Playbook | None = None
        # How many tasks the last `plan(save=True)` saved that were not saved before (a plan built
        # at the same moment by another process may have saved some of them first).
        self.last_saved: int | None = None

    def __repr__(self) -> str:
        return f"Workspace(db={str(self.db)!r}, sops={str(self.sops)!r})"

    # ------------------------------------------------------------ the parts

    def connect(self, *, create: bool = False) -> sqlite3.Connection:
        """A new connection to the database (the caller closes it)."""
        return store.connect(self.db, create=create)

    def playbook(self) -> Playbook:
        """The validated playbooks of `sops/`, read once."""
        if self._playbook is None:
            self._playbook = load_playbook(self.sops)
        return self._playbook

    def now(self) -> datetime:
        """The current time in the playbook's timezone."""
        return datetime.now(ZoneInfo(self.playbook().timezone))

    def owners(self) -> list[str]:
        """Every owner (添加人/导购) of a member or a group."""
        from privdom.store import plan_queries as q

        with closing(self.connect()) as conn:
            return q.owners(conn, self.playbook().limits.default_owner, None)

    # ------------------------------------------------------------ import

    def import_file(self, kind: str, path: StrPath, **options: Any) -> ImportReport:
        """Import one export file of `kind` (members, orders, groups, group-members, activity).

        `options` are those of `privdom import`: encoding, mappings, source, sheet, dry_run, ...
        """
        from privdom.ingest import import_file as ingest_file

        playbook = self.playbook()
        timezone = playbook.timezone
        options.setdefault("started_at", self.now())
        options.setdefault("tiers", [level.id for level in playbook.tiers.levels])
        with closing(self.connect()) as conn:
            return ingest_file(conn, kind, Path(path), timezone=timezone, **options)

    # ------------------------------------------------------------ the plan

    def plan(
        self,
        day: date,
        *,
        owner: str | None = None,
        stage: str | None = None,
        action: str | None = None,
        save: bool = False,
        show_pii: bool = False,
        strict: bool = False,
        saved_at: datetime | None = None,
    ) -> Plan:
        """The tasks of `day`; `save` records them (caps, catch-up and `done` work on saved tasks).

        `stage` and `action` take an id or a Chinese or English label. Phones in messages and
        targets are masked unless `show_pii`. A task that cannot be built is in `plan.blocked` with
        its cause; with `strict`, any blocked task raises PrivdomError and nothing is saved. After a
        save, `last_saved` is how many tasks were new.
        """
        from privdom import planner
        from privdom.cycles import collector_paused
        from privdom.render.plan import masked

        playbook = self.playbook()
        stage = labels.resolve(stage, "stage", labels.STAGES)
        action = labels.resolve(action, "action", labels.ACTIONS)
        with closing(self.connect()) as conn, collector_paused():
            result = planner.build_plan(conn, playbook, day, owner=owner, stage=stage, action=action)
            if strict and result.blocked:
                count = f"{len(result.blocked)} task{'s' if len(result.blocked) != 1 else ''} blocked"
                first = result.blocked[0]
                raise PrivdomError(
                    f"{count} (--strict); first: rule {first.rule}: {first.cause}",
                    hint="every blocked task and its cause: privdom plan --format csv (or json); nothing was saved",
                )
            if save:
                self.last_saved = planner.save_plan(conn, result, saved_at=saved_at or self.now())
        return masked(result, show_pii)

    def done(
        self, ids: Iterable[str], *, skip: bool = False, note: str | None = None, closed_at: datetime | None = None
    ) -> list[str]:
        """Close saved tasks (done, or skipped); returns the task ids closed.

        An id is a task id, the id of a plan line that stands for several group posts, or a unique
        prefix of either (at least 6 characters). An unknown or ambiguous id changes nothing.
        """
        from privdom.planner import history

        with closing(self.connect()) as conn:
            return history.close(conn, list(ids), skip=skip, note=note, closed_at=closed_at or self.now())

    def ids_near(self, ids: Sequence[str]) -> set[str]:
        """Saved task ids, other than `ids`, that share their first characters (a short id must not
        be the prefix of one of them)."""
        from privdom.planner import history

        with closing(self.connect()) as conn:
            return history.ids_near(conn, ids)

    def tasks(self, day: date | None, *, status: str | None = None, owner: str | None = None) -> list[SavedTask]:
        """Saved tasks of `day` (every day with None), with their targets' names and status."""
        from privdom.planner import history

        if status is not None:
            status = labels.resolve(status, "status", labels.STATUSES)
        with closing(self.connect()) as conn:
            return history.list_tasks(conn, day=day, status=status, owner=owner)

    # ------------------------------------------------------------ members

    def members(
        self,
        day: date,
        *,
        tier: str | None = None,
        segment: str | None = None,
        rfm_class: str | None = None,
        owner: str | None = None,
        tag: str | None = None,
        limit: int | None = None,
        show_pii: bool = False,
    ) -> Iterator[Member]:
        """Members as of `day`, highest spend first; filters take ids or Chinese or English labels."""
        from privdom import metrics
        from privdom.records import Member
        from privdom.render.members import QUERY_COLUMNS, member_record

        filters = self.member_filters(tier=tier, segment=segment, rfm_class=rfm_class, owner=owner, tag=tag)
        conn = self.connect()
        try:
            for row in metrics.member_rows(conn, self.playbook(), day, filters, QUERY_COLUMNS, limit):
                yield Member(**member_record(row, show_pii))
        finally:
            conn.close()

    def member_filters(
        self,
        *,
        tier: str | None = None,
        segment: str | None = None,
        rfm_class: str | None = None,
        owner: str | None = None,
        tag: str | None = None,
    ) -> dict[str, str]:
        """The filters of `members` as the store takes them, labels read as ids."""
        playbook = self.playbook()
        wanted = {
            "tier": labels.resolve(tier, "tier", labels.tier_labels(playbook)),
            "lifecycle": labels.resolve(segment, "segment", labels.segment_labels(playbook)),
            "rfm_class": labels.resolve(rfm_class, "rfm class", labels.RFM),
            "owner": owner,
            "tag": tag,
        }
        return {k: v for k, v in wanted.items() if v is not None}

    def member(self, member_id: str, day: date | None = None) -> MemberProfile:
        """One member as of `day` (today in the playbook's timezone when not given): why the tier,
        segment and RFM class, and the tasks ahead (saved open tasks from `day` on, and the rules
        that fire for them in the next 7 days)."""
        from privdom import metrics
        from privdom.planner.forecast import upcoming

        playbook = self.playbook()
        day = day or self.now().date()
        with closing(self.connect()) as conn:
            profile = metrics.member_profile(conn, playbook, member_id, day)
            profile.upcoming_tasks = upcoming(conn, playbook, member_id, day)
        return profile

    def tiers(self, day: date, *, what_if: dict[str, int] | None = None) -> Distribution:
        """Members and spend per tier as of `day`; `what_if` tries other thresholds ({tier: min})."""
        from privdom import metrics, segments

        playbook = self.playbook()
        with closing(self.connect()) as conn:
            metrics.materialize(conn, playbook, day)
            return segments.tier_distribution(conn, playbook, day, what_if)

    def segments(self, day: date, *, model: str = "lifecycle") -> Distribution:
        """Members and spend per lifecycle segment (`model="lifecycle"`) or RFM class (`"rfm"`)."""
        from privdom import metrics, segments

        if model not in ("lifecycle", "rfm"):
            raise PrivdomError(f"model {model!r} is not lifecycle or rfm", hint="use lifecycle or rfm")
        playbook = self.playbook()
        with closing(self.connect()) as conn:
            metrics.materialize(conn, playbook, day)
            return segments.segment_distribution(conn, playbook, day, model)

    # ------------------------------------------------------------ the posting schedule

    def schedule(
        self,
        start: date,
        days: int = 7,
        *,
        group: str | None = None,
        group_type: str | None = None,
        content_type: str | None = None,
        show_pii: bool = False,
    ) -> Schedule:
        """Every group post of `days` days from `start`; `.to_ics()` gives the calendar file.
        `group_type` and `content_type` take an id or a Chinese or English label; phones in
        messages are masked unless `show_pii`."""
        from privdom.render.schedule import masked as masked_schedule
        from privdom.schedule import build_schedule

        if days < 1:
            raise PrivdomError(f"days {days} is not a number of days", hint="give 1 or more days")
        group_type = labels.resolve(group_type, "group type", labels.GROUP_TYPES)
        content_type = labels.resolve(content_type, "content type", labels.CONTENT_TYPES)
        with closing(self.connect()) as conn:
            result = build_schedule(conn, self.playbook(), start, days, group_id=group, group_type=group_type)
        if content_type is not None:
            result.posts = [p for p in result.posts if p.content_type == content_type]
        return masked_schedule(result, show_pii)
