"""`import_file`: one export file -> the workspace database, in one transaction.

decode -> sniff -> header aliases -> cell parsers (rows.py) -> the table. Into an empty members or
orders table (a first import, the big one) records go straight in, in batches, read by a second
process when the file is big (worker.py); otherwise they are staged in batches, then cleaned, merged
and upserted by store.imports. Both paths store the same rows and report the same counts. A crash
or Ctrl-C anywhere rolls the whole file back.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from privdom import store
from privdom.cycles import collector_paused
from privdom.errors import PrivdomError
from privdom.ingest import split
from privdom.ingest.hashing import Hashing
from privdom.ingest.headers import ITEM_AMOUNTS, KINDS, SOURCES, HeaderMap, map_header, normalise, shown, suggest
from privdom.ingest.reader import Part, Progress, Source, SplitMisread, check_export, open_source
from privdom.ingest.records import records, reject, value_batches
from privdom.ingest.report import ImportReport, Reject, Unmapped
from privdom.ingest.rows import RowParser
from privdom.ingest.worker import Half, Job, SecondHalf, Target, worth_a_worker
from privdom.store import bulk_insert as bulk
from privdom.store import identity, scratch
from privdom.store import imports as sql
from privdom.store.tasks import tier_episode

BATCH = 20_000
# Fields that identify a record: an XLSX cell of theirs that is a number is flagged.
ID_FIELDS = frozenset({"member_id", "external_userid", "order_id", "group_id"})


class _DryRun(Exception):
    """Raised after a dry run has counted everything, so the transaction rolls back."""


def import_file(
    conn: sqlite3.Connection,
    kind: str,
    path: Path,
    *,
    timezone: str,
    started_at: datetime,
    encoding: str = "auto",
    mappings: dict[str, str] | None = None,
    source: str = "generic",
    sheet: str | None = None,
    dry_run: bool = False,
    progress: Progress | None = None,
    allow_missing: tuple[str, ...] = (),
    force: bool = False,
    encoding_errors: str = "strict",
    tiers: Sequence[str] = (),
) -> ImportReport:
    """Import one file of KIND. Whole-file problems raise PrivdomError and write nothing.

    `tiers` are the playbook's tier ids: a member who takes a new id keeps its saved tier
    congratulations under the ids the planner makes for it (store.tasks.rekey_member_tasks).

    `started_at` is the caller's clock in the playbook's timezone; it is recorded in `imports`.
    The same file read with the same options again changes nothing, unless `force`.
    """
    if kind not in KINDS:
        raise PrivdomError(f"unknown kind {kind!r}", hint=f"KIND is one of: {', '.join(KINDS)}")
    if source not in SOURCES:
        raise PrivdomError(
            f"--source {source!r} is not a known layout", hint=f"use one of: {', '.join(SOURCES)}"
        )
    if encoding_errors not in ("strict", "replace"):
        raise PrivdomError(
            f"--encoding-errors {encoding_errors!r} is not known", hint="use strict (the default) or replace"
        )
    check_export(path)  # before the hash's thread opens it: a FIFO would block that open for ever
    how = Options(mappings or {}, source, sheet, encoding, tuple(sorted(allow_missing)), encoding_errors, force)
    episodes = tuple(tier_episode(t) for t in tiers)
    args = (conn, kind, path, timezone, started_at, how, dry_run, progress, episodes)
    try:
        return _import(*args, may_split=True)
    except SplitMisread:
        # A stray quote misled the cut of a big file in two (ingest.split); nothing was written.
        return _import(*args, may_split=False)


@dataclass(frozen=True)
class Options:
    """How a file is read. The same file read another way is another import."""

    mappings: dict[str, str]
    source: str
    sheet: str | None
    encoding: str
    allow_missing: tuple[str, ...]
    encoding_errors: str
    force: bool

    def key(self) -> str:
        """The options that change what is stored, as JSON (recorded in `imports.options`)."""
        return json.dumps(
            {
                "map": dict(sorted(self.mappings.items())),
                "source": self.source,
                "sheet": self.sheet,
                "encoding": self.encoding,
                "allow_missing": list(self.allow_missing),
                "encoding_errors": self.encoding_errors,
            },
            ensure_ascii=False,
            sort_keys=True,
        )


def _import(
    conn: sqlite3.Connection,
    kind: str,
    path: Path,
    timezone: str,
    started_at: datetime,
    how: Options,
    dry_run: bool,
    progress: Progress | None,
    episodes: tuple[str, ...],
    *,
    may_split: bool,
) -> ImportReport:
    started = time.perf_counter()
    before = _file_state(path) if path.is_file() else (0, 0)  # open_source says what is wrong otherwise
    hashing = Hashing(path)
    mappings = how.mappings
    try:
        src = open_source(path, encoding=how.encoding, sheet=how.sheet, progress=progress, errors=how.encoding_errors)
    except BaseException:
        hashing.cancel()
        raise
    try:
        hmap = map_header(kind, src.header, source=how.source, mappings=mappings, allow_missing=how.allow_missing,
                          file=str(path))
        cut = _cut(conn, kind, src, path) if may_split else None  # while the file is hashed
        report = ImportReport(
            kind=kind,
            file=str(path),
            sha256=hashing.digest(),
            encoding=src.encoding,
            delimiter=src.delimiter,
            sheet=src.sheet,
            dry_run=dry_run,
            columns={src.header[i].strip(): f for f, i in sorted(hmap.fields.items(), key=lambda x: x[1])},
            extra_columns=[name for _, name in hmap.extra],
            unmapped=_unmapped(kind, hmap),
        )
        report.columns.update({src.header[i].strip(): "tags" for i, _ in hmap.tag_groups})
        previous = None if how.force else sql.already_imported(conn, kind, report.sha256, how.key())
        if previous is not None:
            report.already_imported = True
            report.import_id = previous
            report.seconds = round(time.perf_counter() - started, 3)
            return report
        parser = RowParser(kind, src.header, hmap, ZoneInfo(timezone), phone_id=identity.id_for_phone(conn))
        # What must wait for the transaction's end: a scratch database is detached only then.
        with ExitStack() as after_commit:
            try:
                stamp = started_at.strftime("%Y-%m-%d %H:%M:%S")
                # The marker is written once this import holds the workspace, so that a second
                # import, waiting, never overwrites the first one's.
                with (
                    collector_paused(),
                    sql.bulk_settings(conn),
                    store.transaction(conn),
                    scratch.marked(conn, stamp),
                ):
                    direct = kind in bulk.DIRECT_KINDS and bulk.table_is_empty(conn, kind)

                    def whole_orders(table: str) -> int:
                        def reread() -> Source:
                            return open_source(path, encoding=src.encoding, sheet=src.sheet, errors=how.encoding_errors)

                        return _whole_orders(conn, report, reread, hmap.fields.get("order_id"), table)

                    if direct:
                        parser.match_blank = False  # no stored member to match a blank identity to
                        job = Job(kind, path, src.encoding, how.source, mappings, timezone,
                                  identity.phone_key(conn), how.allow_missing, how.encoding_errors)
                        _load_direct(conn, src, parser, report, job, cut, after_commit, whole_orders)
                    else:
                        sql.create_stage(conn, kind)
                        blanks = _stage(conn, src, parser, report)
                        whole_orders("temp.import_stage")
                        _settle(conn, kind, report, blanks, episodes)
                    if kind == "members":
                        sql.link_rows_to_new_members(conn)
                        # A file imported again (--force) is the export it was: its totals are as
                        # of its first import, and the orders paid since then still come on top.
                        first = sql.first_imported_at(conn, kind, report.sha256)
                        sql.stamp_export_totals(conn, min(first or stamp, stamp), staged=not direct)
                    report.nulled_by_column = dict(sorted(parser.nulled.items()))
                    report.numeric_ids = {
                        src.header[i].strip(): src.numbers[i]
                        for name, i in hmap.fields.items()
                        if name in ID_FIELDS and src.numbers.get(i)
                    }
                    report.rejected = len(report.rejects)
                    report.rejected_by_reason = dict(sorted(Counter(r.reason for r in report.rejects).items()))
                    report.seconds = round(time.perf_counter() - started, 3)
                    _same_file(path, before)
                    if dry_run:
                        raise _DryRun
                    report.import_id = sql.record_import(
                        conn,
                        kind=kind,
                        file_name=path.name,
                        sha256=report.sha256,
                        encoding=report.encoding,
                        started_at=started_at.strftime("%Y-%m-%d %H:%M:%S"),  # local time, as stored
                        seconds=report.seconds,
                        counts=report.model_dump(
                            mode="json", exclude={"columns", "extra_columns", "unmapped", "file", "sha256"}
                        ),
                        options=how.key(),
                        rejects=((r.record, r.line, r.reason, r.raw) for r in report.rejects),
                    )
                    sql.drop_stage(conn)
            except _DryRun:
                pass
        return report
    finally:
        hashing.cancel()
        src.close()


def _stage(conn: sqlite3.Connection, src: Source, parser: RowParser, report: ImportReport) -> dict[int, Reject]:
    """The one pass over the file: skip, reject or stage every record, in batches. Returns the
    records staged with a blank identity (`derived` 2), as the rejects they become when no stored
    member matches them."""
    blanks: dict[int, Reject] = {}
    batch: list[tuple[Any, ...]] = []
    kind = report.kind
    # Duplicates are records whose stored values are the same (cells that differ only in spaces or
    # number format included), as on the insert-only path.
    stored = 3 + len(sql.COLUMNS[kind])
    for record, line, row in records(src, report):
        staged = parser(row)
        if isinstance(staged, str):
            reject(src, report, record, line, row, staged)
            continue
        if staged[1] == 2:
            blanks[record] = Reject(record=record, line=line, reason="missing_id", raw=src.raw(row))
        batch.append((record, line, hash(staged[3:stored]), *staged))
        if len(batch) >= BATCH:
            sql.stage_rows(conn, kind, batch)
            batch.clear()
    if batch:
        sql.stage_rows(conn, kind, batch)
    return blanks


def _load_direct(
    conn: sqlite3.Connection,
    src: Source,
    parser: RowParser,
    report: ImportReport,
    job: Job,
    cut: tuple[Part, Part] | None,
    after_commit: ExitStack,
    whole_orders: Callable[[str], int],
) -> None:
    """The insert-only path for a file whose table is empty: records go straight into the table.

    The table's indexes, the key's unique index included, are dropped for the load and built once
    at the end: appending rows to a table with no index costs about what `sqlite3 .import` pays,
    and building an index is one sort. A big CSV is read in two halves side by side (`worker`).
    If the key's index cannot be built, the file gave an identity more than once: those rows are
    settled like the staged path settles repeats (a record that reads the same as an earlier one is
    a duplicate; others are folded into one).
    """
    kind = report.kind
    sql.drop_stage(conn)  # leftovers of an earlier import on this connection
    indexes = bulk.drop_indexes(conn, kind)
    halves = _halves(conn, job, cut, after_commit)
    if halves is None:
        report.inserted += bulk.append_batches(conn, kind, value_batches(src, parser, report))
    else:
        first, target = halves
        with SecondHalf(job, target) as second:
            size = target.part.end
            shown = src.progress

            def both(done: int, _total: int) -> None:
                if shown is not None:
                    shown(done + second.bytes_read(), size)

            own = open_source(job.path, encoding=src.encoding, progress=both, part=first)
            try:
                report.inserted += bulk.append_batches(conn, kind, value_batches(own, parser, report))
            finally:
                own.close()
            half = second.result(lambda: both(first.end, size))
            both(first.end, size)  # the whole file: the worker has read its half to the end
        _add_half(conn, report, parser, half, target.scratch)
    report.inserted -= whole_orders(kind)
    with bulk.sorting_in_threads(conn):
        if not bulk.create_key_index(conn, kind, indexes):
            sql.create_stage(conn, kind)
            moved, identities = bulk.stage_repeated_keys(conn, kind)
            report.inserted -= moved - identities
            if not bulk.create_key_index(conn, kind, indexes):
                raise AssertionError(f"{kind}: identities still repeat after staging their rows")
            sql.find_repeated_keys(conn)
            report.duplicates += sql.drop_duplicates(conn)
            report.merged = _merge_repeats(conn, kind, item_lines=_item_lines(report))
            sql.replace_from_stage(conn, kind)
        bulk.create_indexes(conn, indexes, skip=bulk.KEY_INDEX[kind])
    if kind == "orders":
        report.members_created = bulk.create_unknown_members(conn)


def _cut(conn: sqlite3.Connection, kind: str, src: Source, path: Path) -> tuple[Part, Part] | None:
    """Where a big CSV is cut for two readers; None when it is read in one part (a workbook, a small
    file, one core, a database in memory, a table that has rows already, or no cut found)."""
    if kind not in bulk.DIRECT_KINDS or src.sheet is not None or not worth_a_worker(path):
        return None
    # Looked at again inside the transaction; here it only spares a scan that would go unused.
    if scratch.database_file(conn) is None or not bulk.table_is_empty(conn, kind):
        return None
    return split.halves(path, src.encoding)


def _halves(
    conn: sqlite3.Connection, job: Job, cut: tuple[Part, Part] | None, after_commit: ExitStack
) -> tuple[Part, Target] | None:
    """The first half of a big CSV, read here, and what the worker reads and writes; None when the
    file is read in one part."""
    workspace = scratch.database_file(conn)
    if cut is None or workspace is None:
        return None
    first, second = cut
    path = scratch.new_file(workspace)
    after_commit.callback(path.unlink, missing_ok=True)
    after_commit.callback(scratch.detach, conn)  # runs first: the callbacks run last in, first out
    return first, Target(second, path, workspace, scratch.table_sql(conn, job.kind))


def _add_half(conn: sqlite3.Connection, report: ImportReport, parser: RowParser, half: Half, path: Path) -> None:
    """The worker's rows after this process's (the second half comes later in the file), and its
    counts; its records are numbered on from the first half's."""
    report.inserted += scratch.append_to_workspace(conn, report.kind, path)
    report.rejects += [r.model_copy(update={"record": r.record + report.read}) for r in half.report.rejects]
    report.read += half.report.read
    report.blank += half.report.blank
    report.repeated_headers += half.report.repeated_headers
    for column, count in half.nulled.items():
        parser.nulled[column] = parser.nulled.get(column, 0) + count


def _settle(
    conn: sqlite3.Connection, kind: str, report: ImportReport, blanks: dict[int, Reject], episodes: tuple[str, ...]
) -> None:
    """Set-based clean-up of the staged file, then the upsert."""
    if kind == "members":
        sql.resolve_member_keys(conn)
        report.rejects += [blanks[seq] for seq in sql.drop_unmatched_blanks(conn)]
        report.members_adopted = sql.adopt_derived_members(conn, episodes)
    elif kind in ("group-members", "activity"):
        sql.resolve_external_ids(conn, kind)
    if sql.find_repeated_keys(conn):
        report.duplicates = sql.drop_duplicates(conn)
        report.merged = _merge_repeats(conn, kind, item_lines=_item_lines(report))
    if kind == "orders":
        sql.resolve_order_members(conn)
        report.members_created = sql.create_order_members(conn)
    _total, report.inserted, report.unchanged = sql.count_changes(conn, kind)
    if kind == "orders":
        report.refunds_updated, report.status_updated = sql.count_order_updates(conn)
    report.updated = _total - report.inserted - report.unchanged
    sql.upsert(conn, kind)


def _whole_orders(
    conn: sqlite3.Connection, report: ImportReport, reread: Callable[[], Source], at: int | None, table: str
) -> int:
    """An order of item lines one of whose lines was rejected is rejected whole: stored from its
    other lines, it would count a part of its amount as the order's. Only then is the file read
    again, twice: for the orders of the rejected records (by their numbers), then for those
    orders' other lines, which are rejected as `order_line_rejected` and taken out of `table` (the
    stage, or the table an insert-only import filled). Returns how many rows went."""
    if at is None or not report.rejects or not _item_lines(report):
        return 0
    rejected = {r.record for r in report.rejects}
    orders = {row[at].strip() for record, row in _rows(reread) if record in rejected and at < len(row)} - {""}
    if not orders:
        return 0
    src = reread()
    try:
        for record, (line, row) in enumerate(src.records, 1):  # numbered as `records` numbers them
            if record not in rejected and type(row) is list and at < len(row) and row[at].strip() in orders:
                reject(src, report, record, line, row, "order_line_rejected")
    finally:
        src.close()
    report.rejects.sort(key=lambda r: r.record)
    return conn.execute(
        f"DELETE FROM {table} WHERE order_id IN (SELECT value FROM json_each(?))", (json.dumps(sorted(orders)),)
    ).rowcount


def _rows(reread: Callable[[], Source]) -> Iterator[tuple[int, list[str]]]:
    """(record number, cells) of every record of the file read again; a record whose quote never
    closed has no cells to read."""
    src = reread()
    try:
        for record, (_line, row) in enumerate(src.records, 1):
            if type(row) is list:
                yield record, row
    finally:
        src.close()


def _item_lines(report: ImportReport) -> bool:
    """An order file whose amount is an item line's (headers.ITEM_AMOUNTS): its rows of one order
    are the order's items, and add up."""
    return report.kind == "orders" and any(
        field == "amount_fen" and normalise(column) in ITEM_AMOUNTS for column, field in report.columns.items()
    )


def _merge_repeats(conn: sqlite3.Connection, kind: str, *, item_lines: bool = False) -> int:
    """Fold records sharing an identity into one; returns how many records were folded away."""
    columns = sql.stage_columns(kind)
    folded: list[tuple[Any, ...]] = []
    merged = 0
    group: list[tuple[Any, ...]] = []
    for row in sql.repeated_keys(conn):
        if group and row[3] != group[0][3]:
            folded.append(fold(kind, columns, group, item_lines=item_lines))
            merged += len(group) - 1
            group = []
        group.append(row)
        if len(folded) >= BATCH:
            sql.store_folded(conn, kind, folded)
            folded.clear()
    if group:
        folded.append(fold(kind, columns, group, item_lines=item_lines))
        merged += len(group) - 1
    if folded:
        sql.store_folded(conn, kind, folded)
    if merged:
        sql.replace_folded(conn)
    return merged


def fold(
    kind: str, columns: list[str], rows: list[tuple[Any, ...]], *, item_lines: bool = False
) -> tuple[Any, ...]:
    """One record from several of the same identity; `rows[0]` (latest activity) wins.

    Nothing is lost: a field the winner lacks comes from the next row that has it, tags are the
    union, `extra` keeps every key, joined_at is the earliest and last_order_at the latest. WeCom
    exports repeat a customer once per staff member; every owner is kept in extra.owners.
    With `item_lines` (an order export of one row per item), the order's amount is the sum of its
    counted items, it counts when any item does, and an `extra` key whose items differ keeps
    every item's value.
    """
    out = list(rows[0])
    for i in range(len(out)):
        if out[i] is None:
            out[i] = next((r[i] for r in rows if r[i] is not None), None)
    pos = {name: i for i, name in enumerate(columns)}
    if "tags" in pos:
        tags: list[str] = []
        for r in rows:
            for tag in json.loads(r[pos["tags"]] or "[]"):
                if tag not in tags:
                    tags.append(tag)
        out[pos["tags"]] = json.dumps(tags, ensure_ascii=False) if tags else None
    if kind == "members":
        joined = [r[pos["joined_at"]] for r in rows if r[pos["joined_at"]]]
        out[pos["joined_at"]] = min(joined) if joined else None
        last = [r[pos["last_order_at"]] for r in rows if r[pos["last_order_at"]]]
        out[pos["last_order_at"]] = max(last) if last else None
    if item_lines:
        counted = [r for r in rows if r[pos["counted"]]]
        amounts = [r[pos["amount_fen"]] for r in counted or rows if r[pos["amount_fen"]] is not None]
        out[pos["amount_fen"]] = sum(amounts) if amounts else None
        out[pos["counted"]] = 1 if counted else 0
    extra: dict[str, Any] = {}
    for r in reversed(rows):
        extra.update(json.loads(r[pos["extra"]] or "{}"))
    if item_lines:  # each item's name, price and quantity, in file order
        for key in extra:
            values = [json.loads(r[pos["extra"]] or "{}").get(key) for r in reversed(rows)]
            if len(set(map(str, values))) > 1:
                extra[key] = values
    if kind == "members":
        owners = list(dict.fromkeys(r[pos["owner"]] for r in rows if r[pos["owner"]]))
        if len(owners) > 1:
            extra["owners"] = owners
    out[pos["extra"]] = json.dumps(extra, ensure_ascii=False) if extra else None
    return tuple(out)


def _file_state(path: Path) -> tuple[int, int]:
    stat = path.stat()
    return stat.st_size, stat.st_mtime_ns


def _same_file(path: Path, before: tuple[int, int]) -> None:
    """The file read is the file recorded: one that changed while it was read (an exporter still
    writing it) is refused before anything is committed."""
    if _file_state(path) != before:
        raise PrivdomError(
            f"{path} changed while it was imported; nothing was written",
            hint="wait until the export has finished writing the file, then import it again",
        )


def _unmapped(kind: str, hmap: HeaderMap) -> list[Unmapped]:
    """Every column kept in `extra` but not read for a field, with the field it most likely holds
    and the `--map` that would read it."""
    out = []
    read = set(hmap.fields.values())
    for index, name in hmap.extra:
        if index in read:
            continue
        field = suggest(kind, name)
        out.append(
            Unmapped(
                column=name,
                closest=shown(field) if field else None,
                map=f"--map '{name}={shown(field)}'" if field else None,
            )
        )
    return out
