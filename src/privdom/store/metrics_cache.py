"""The persistent metrics cache: member_metrics snapshots kept in files beside the workspace.

Every command is a new process, so a TEMP table would be rebuilt by each `members`, `segments`,
`tiers` and `plan`. Instead a build is written once into a snapshot file beside the workspace
database, `<db name>-metrics-<key>` (like SQLite's own `-wal` and `-shm`), and later commands
attach it and read it through a TEMP VIEW named `member_metrics`, so every query over
`member_metrics` works unchanged.

Why a file of its own and not a table in the workspace: a snapshot is derived data, rebuilt at
will, so it needs no journal. In the workspace every page of it went through the WAL and was
copied again at the checkpoint, and dropping an old snapshot walked all its pages: at 1M members
about 6 s of a 28 s build. Here the build writes each page once, with no journal, into a
temporary file that is renamed to its final name only when complete (a killed build leaves no
snapshot, only a `.tmp` that a later build clears), and an old snapshot goes by deleting its file.
The build reads the workspace in a read transaction, so it never holds the write lock: an import
can run while a snapshot is built.

The key is a hash of everything the numbers depend on:
* the data: every import's id and sha256, plus the row count and highest rowid of members, orders
  and activity (any import that commits, and any row inserted or deleted by hand, changes it; the
  files' hashes tell a re-created workspace of the same shape from the one a snapshot was built for);
* the playbook parts that feed the metrics, as compiled into the `MetricsQuery` (as-of date,
  windows, growth rate, tier thresholds, lifecycle conditions, RFM scores, KOC minimums);
* the source of `store/metrics.py`, so a new privdom version never reads an old layout.

A stale snapshot is never read: its key no longer matches. At most `KEEP` snapshots are kept (a
report reads two dates); older files are deleted when a new one is built. A database in memory, a
caller's open transaction, or a folder privdom may not write to gets a TEMP table instead.
"""

from __future__ import annotations

import glob
import hashlib
import inspect
import os
import shutil
import sqlite3
import stat
import threading
import warnings
import zlib
from importlib.metadata import version
from pathlib import Path

from privdom.errors import PrivdomWarning
from privdom.store import metrics as sql
from privdom.store import metrics_patch as patch
from privdom.store.bulk_insert import SORT_THREADS
from privdom.store.imports import pragmas
from privdom.store.schema import rollback, write_once
from privdom.store.scratch import database_file, side_file, side_files

KEEP = 2
# A snapshot's pages are read and written a few rows at a time (a patch changes 3-4% of the rows,
# spread over the whole table; the planner reads its candidates' rows): SQLite's default 4 KiB
# reads a quarter of the bytes the workspace's 16 KiB would for each. Measured at 1M members in
# alternating runs: patch 2.88 s against 2.99 s, plan 1.70 s against 1.86 s, on average of six.
SNAPSHOT_PAGE_SIZE = 4096
INDEXES = sql.SNAPSHOT_INDEXES
# The page cache of a snapshot being patched: bounded (the morning stays under 150 MB at 1M members),
# and above the default 2 MiB, which read the pages of a table and its indexes again and again.
# With 4 KiB pages read in member order, 8, 16 and 32 MiB patch in the same time at 1M members
# (1.87, 1.92 and 2.03 s on average of three alternating runs): the smallest keeps the memory.
PATCH_CACHE_KIB = 8_192
READING = "metrics_snapshot"  # the snapshot a connection reads, as it attaches it
_BUILDING = "metrics_building"  # the file a build writes, attached while it does
_SIDE = "metrics"  # in the names of the snapshot files and of the files being built
# A `.tmp` this old belongs to no running build (one takes about 30 s at 1M members).
ABANDONED_AFTER_S = 3600


def _build_source() -> str:
    """The build's and the patch's SQL as shipped: any change to them (a new privdom) changes every key."""
    try:
        return inspect.getsource(sql) + inspect.getsource(patch)
    except (OSError, TypeError):  # no source file (a frozen build): the version has to do
        return f"privdom {version('privdom')}"


_BUILD_TEXT = _build_source()


def workspace_id(conn: sqlite3.Connection) -> str:
    return str(conn.execute("SELECT value FROM settings WHERE name = 'workspace_id'").fetchone()[0])


def last_change(conn: sqlite3.Connection) -> int:
    """The number of the latest change noted in `member_changes` (never given twice, schema 9)."""
    row = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'member_changes'").fetchone()
    return int(row[0]) if row else 0


def data_fingerprint(conn: sqlite3.Connection) -> str:
    """Changes whenever a row of a metrics input is written, deleted or changed, by an import or
    by hand: the triggers of schema 9 note every one. The workspace's random id keeps a workspace
    made again in the same folder from reading the snapshots of the one before."""
    return f"{workspace_id(conn)}.{last_change(conn)}"


def family(q: sql.MetricsQuery) -> str:
    """What a snapshot's rows depend on besides the data and the date (a snapshot of the same
    family is patched into another date's)."""
    text = "\n".join([_BUILD_TEXT, repr(INDEXES), patch.undated(q)])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def cache_key(conn: sqlite3.Connection, q: sql.MetricsQuery) -> str:
    text = "\n".join([_BUILD_TEXT, repr(INDEXES), repr(q), data_fingerprint(conn)])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def snapshot_path(workspace: Path, key: str) -> Path:
    return workspace.with_name(f"{workspace.name}-{_SIDE}-{key[:24]}")


def snapshots(workspace: Path) -> list[Path]:
    """The workspace's snapshot files, the most recently built first."""
    found = workspace.parent.glob(f"{glob.escape(workspace.name)}-{_SIDE}-*")
    return sorted(found, key=_built_at, reverse=True)


def _built_at(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:  # deleted meanwhile by another process's eviction
        return 0.0


def materialize(conn: sqlite3.Connection, q: sql.MetricsQuery) -> None:
    """member_metrics for `q`: the cached snapshot when its key matches, else built (and kept)."""
    workspace = database_file(conn)
    if workspace is None or conn.in_transaction:  # ATTACH is refused inside a transaction
        sql.build_temp(conn, q)
        return
    path = snapshot_path(workspace, cache_key(conn, q))
    if path.exists() and _show(conn, path, q):
        return
    try:
        building = side_file(workspace, _SIDE)
    except OSError:  # a folder privdom may read but not write to
        sql.build_temp(conn, q)
        return
    path = _build(conn, q, workspace, building)
    if not _show(conn, path, q):
        sql.build_temp(conn, q)


def materialize_member(conn: sqlite3.Connection, q: sql.MetricsQuery, member_id: str) -> bool:
    """A TEMP member_metrics of one member as of `q`'s date, from the snapshot this connection
    reads (`metrics_patch.member_row`); False when it reads none, or one of a later date."""
    return _reading(conn) and patch.member_row(conn, q, member_id, READING)


def _build(conn: sqlite3.Connection, q: sql.MetricsQuery, workspace: Path, building: Path) -> Path:
    """Write the snapshot of the data as it is now into `building`, then give it its final name,
    which is returned: a copy of an earlier snapshot patched (`metrics_patch`) when there is one
    to patch, else a full build."""
    try:
        # mkstemp made the file its owner's only: it gets the workspace's permissions, so that
        # whoever may read the workspace may read its snapshot too.
        os.chmod(building, stat.S_IMODE(workspace.stat().st_mode))
        base = patch.find_base(snapshots(workspace), q.as_of, family(q), workspace_id(conn))
        if base is not None and (
            patch.everything_changed(conn, base.seq) or _whole_file(base.path) or not _copy(base.path, building)
        ):
            base = None
        path = _write_snapshot(conn, q, workspace, building, base)
        if path is None:  # the patch declined: a full build into the file made empty again
            building.write_bytes(b"")
            path = _write_snapshot(conn, q, workspace, building, None)
            assert path is not None, "a full build always writes"
        if not path.exists():
            os.replace(building, path)  # complete, or not there at all
        _evict(workspace, path)
        return path
    finally:
        building.unlink(missing_ok=True)


def _copy(source: Path, target: Path) -> bool:
    """Copy an earlier snapshot to be patched; False when it went meanwhile (another's eviction)."""
    try:
        shutil.copyfile(source, target)
    except OSError:
        return False
    return True


def _write_snapshot(
    conn: sqlite3.Connection, q: sql.MetricsQuery, workspace: Path, building: Path, base: patch.Base | None
) -> Path | None:
    """Build or patch the snapshot in `building`, in one read transaction of the workspace; its
    final name, or None when the patch of `base` declined."""
    conn.execute(f"ATTACH ? AS {_BUILDING}", (str(building),))
    try:
        if base is None:
            write_once(conn, _BUILDING, SNAPSHOT_PAGE_SIZE)
        else:  # a copy: its page size is set; no journal, no syncs
            conn.execute(f"PRAGMA {_BUILDING}.journal_mode = OFF")
            conn.execute(f"PRAGMA {_BUILDING}.synchronous = OFF")
            # The rows patched are spread over the table and its indexes: each page read once.
            conn.execute(f"PRAGMA {_BUILDING}.cache_size = -{PATCH_CACHE_KIB}")
        conn.execute("BEGIN")  # one read snapshot of the workspace for the key and the build
        try:
            path = snapshot_path(workspace, cache_key(conn, q))
            if not path.exists():  # else built by another process since the first look
                if base is None:
                    _write(conn, q)
                elif not patch.patch(conn, q, base, _BUILDING):
                    rollback(conn)
                    return None
                made = "full" if base is None else f"patch of {base.as_of}"
                patch.write_meta(conn, _BUILDING, q.as_of, family(q), workspace_id(conn), last_change(conn), made)
                _seal(conn, path)
        except BaseException:
            rollback(conn)
            raise
        conn.execute("COMMIT")
    finally:
        conn.execute(f"DETACH {_BUILDING}")
    return path


def _write(conn: sqlite3.Connection, q: sql.MetricsQuery) -> None:
    sql.build(conn, q, f"{_BUILDING}.member_metrics")
    patch.create_meta(conn, _BUILDING)
    with pragmas(conn, {"threads": SORT_THREADS}):  # helper threads for the sorts, as a bulk load has
        for name, columns, where in INDEXES:
            unique = "UNIQUE " if name == "id" else ""
            partial = f" WHERE {where}" if where else ""
            conn.execute(
                f"CREATE {unique}INDEX {_BUILDING}.member_metrics_{name} ON member_metrics({columns}){partial}"
            )


def _seal(conn: sqlite3.Connection, path: Path) -> None:
    """Write the checksum `_check` reads into the header of the snapshot being built."""
    rows = conn.execute(f"SELECT MAX(rowid) FROM {_BUILDING}.member_metrics").fetchone()[0]
    conn.execute(f"PRAGMA {_BUILDING}.user_version = {checksum(path, rows)}")


def _show(conn: sqlite3.Connection, path: Path, q: sql.MetricsQuery) -> bool:
    """Point the TEMP VIEW member_metrics at the snapshot in `path` (of `q`'s date); False when the
    file is gone, or was damaged (then it is deleted, with a warning, and the caller builds it again)."""
    sql.drop_member_metrics(conn)
    _detach(conn)
    found = f"SELECT 1 FROM {READING}.sqlite_master WHERE type = 'table' AND name = 'member_metrics'"
    # Written with no journal and no sync, a snapshot cut short by a crash or a power cut must not
    # stop every command: what fails a check is derived data, deleted and rebuilt.
    problem = _whole_file(path)
    try:
        if problem:
            raise sqlite3.DatabaseError(problem)
        conn.execute(f"ATTACH ? AS {READING}", (str(path),))
        table = conn.execute(found).fetchone() is not None
        if not table and _empty(path):
            # Deleted by another process's eviction between the look and the ATTACH, which then
            # made an empty file of that name: that one goes too.
            _detach(conn)
            if path.exists():
                path.unlink(missing_ok=True)
            return False
        problem = _check(conn, path) if table else "no member_metrics table"
    except sqlite3.DatabaseError as exc:
        problem = str(exc)
    if problem:
        _detach(conn)
        warnings.warn(PrivdomWarning(f"{path} was damaged ({problem}); deleted, the metrics are rebuilt"),
                      stacklevel=2)
        _delete(path)
        return False
    conn.execute(sql.snapshot_view(READING, q.as_of))
    return True


def _empty(path: Path) -> bool:
    try:
        return path.stat().st_size == 0
    except FileNotFoundError:
        return True


def _whole_file(path: Path) -> str | None:
    """What is wrong with the file's SQLite header, or None: the magic, and a size that is the
    header's page count times its page size (a file cut short is not). None for a missing file."""
    try:
        with path.open("rb") as f:
            head = f.read(100)
        size = path.stat().st_size
    except FileNotFoundError:
        return None
    if size == 0:
        return None  # an ATTACH of a deleted name makes one: handled as gone
    if len(head) < 100 or not head.startswith(b"SQLite format 3\0"):
        return "not an SQLite file"
    page_size = int.from_bytes(head[16:18], "big")
    pages = int.from_bytes(head[28:32], "big")
    if (page_size if page_size != 1 else 65536) * pages != size:
        return f"{size} bytes where the header says {pages} pages of {page_size}"
    return None


def _check(conn: sqlite3.Connection, path: Path) -> str | None:
    """What is wrong with an attached snapshot, or None: its indexes and the checksum its build
    wrote into the header (user_version) over its name and row count."""
    indexes = conn.execute(
        f"SELECT COUNT(*) FROM {READING}.sqlite_master WHERE type = 'index' AND tbl_name = 'member_metrics'"
    ).fetchone()[0]
    if indexes < len(INDEXES):
        return f"{indexes} of its {len(INDEXES)} indexes"
    rows = conn.execute(f"SELECT MAX(rowid) FROM {READING}.member_metrics").fetchone()[0]
    stored = conn.execute(f"PRAGMA {READING}.user_version").fetchone()[0]
    if stored != checksum(path, rows):
        return "its checksum does not match its rows"
    return None


def checksum(path: Path, rows: int | None) -> int:
    """The number a snapshot's build writes into its header's user_version: its name and its row
    count (the highest rowid: the table is written in one go), so a file renamed or cut short, or
    from a build that did not finish, does not match."""
    return zlib.crc32(f"{path.name}:{rows or 0}".encode()) & 0x7FFFFFFF


def _detach(conn: sqlite3.Connection) -> None:
    """Let go of the snapshot this connection reads, if any."""
    if _reading(conn):
        conn.execute(f"DETACH {READING}")


def _reading(conn: sqlite3.Connection) -> bool:
    """Whether this connection has a snapshot attached to read."""
    return any(name == READING for _seq, name, _file in conn.execute("PRAGMA database_list").fetchall())


def _evict(workspace: Path, newest: Path) -> None:
    """Keep the KEEP most recently built snapshots (`newest` among them); drop abandoned builds.

    A file another process still reads stays readable to it until it lets go (POSIX); where the
    system refuses to delete an open file, it is left for a later build to delete. A build's age
    is told by the file system's clock, against the snapshot just written.
    """
    found = snapshots(workspace)
    kept = [newest] + [p for p in found if p != newest][: KEEP - 1]
    now = _built_at(newest)
    for left in side_files(workspace, _SIDE):
        if now - _built_at(left) > ABANDONED_AFTER_S:
            _delete(left)
    for old in found:
        if old not in kept:
            _retire(workspace, old)


# Freeing a big file's blocks takes the file system a while (0.12 s for a snapshot of 1M members):
# such a file leaves the list of snapshots at once, by a rename to a side file's name, and is
# deleted by a thread while the command goes on (a side file left by a process that ended first
# is deleted by a later build, as an abandoned one). A small one is deleted at once.
_DELETE_ASIDE_BYTES = 64 * 1024 * 1024


def _retire(workspace: Path, path: Path) -> None:
    try:
        big = path.stat().st_size >= _DELETE_ASIDE_BYTES
    except OSError:
        return  # deleted meanwhile by another process's eviction
    if not big:
        _delete(path)
        return
    aside = path.with_name(f".{workspace.name}-{_SIDE}-retired-{path.name[-8:]}.tmp")
    try:
        os.replace(path, aside)
    except OSError:
        _delete(path)
        return
    threading.Thread(target=_delete, args=(aside,), name="privdom-evict", daemon=True).start()


def _delete(path: Path) -> None:
    try:
        path.unlink(missing_ok=True)
    except OSError:
        pass

