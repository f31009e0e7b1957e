"""The scratch database a second process fills with the second half of a big first import.

SQLite lets one connection write at a time, and the import's transaction is that one. So the
process reading the second half appends its rows to a table of the same definition in a file of its
own beside the workspace. The import then copies that table in with one statement. SQLite runs it
as a copy of stored records, so no value passes through Python again.
"""

from __future__ import annotations

import glob
import os
import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from privdom.store.bulk_insert import create_unknown_table
from privdom.store.imports import TABLE
from privdom.store.schema import write_once

SCHEMA = "import_half"  # the scratch file, as the workspace's connection attaches it


def database_file(conn: sqlite3.Connection) -> Path | None:
    """The workspace's file, or None for a database in memory."""
    for _seq, name, file in conn.execute("PRAGMA database_list").fetchall():
        if name == "main":
            return Path(file) if file else None
    return None


def table_sql(conn: sqlite3.Connection, kind: str) -> str:
    """The CREATE TABLE of the workspace's table: the scratch table is the same, column for column,
    so that the copy can move stored records as they are."""
    return str(
        conn.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (TABLE[kind],)).fetchone()[0]
    )


def side_file(workspace: Path, what: str) -> Path:
    """A new empty file beside the workspace, `.<db name>-<what>-<random>.tmp`: on the same disk as
    the workspace (which holds what it is for anyway), and named so that it can be found again."""
    handle, name = tempfile.mkstemp(prefix=f".{workspace.name}-{what}-", suffix=".tmp", dir=workspace.parent)
    os.close(handle)
    return Path(name)


def side_files(workspace: Path, what: str) -> list[Path]:
    """The `side_file`s of `what` there now: in use, or left by a process that was killed."""
    return list(workspace.parent.glob(f".{glob.escape(workspace.name)}-{glob.escape(what)}-*.tmp"))


def new_file(workspace: Path) -> Path:
    """The scratch file of an import.

    Called inside the import's transaction, which no other import can hold: a scratch file already
    there was left by an import that was killed, and goes.
    """
    for left in side_files(workspace, "import"):
        left.unlink(missing_ok=True)
    return side_file(workspace, "import")


def open_for_writing(path: Path, kind: str, create_table: str, workspace: Path) -> sqlite3.Connection:
    """The second process's connection: the scratch file, with no journal (a failed import throws
    it away) and, for orders, the workspace attached read-only to find the orders' members in.

    The scratch file has no members table, so `members` in the shared SQL is the workspace's.
    """
    conn = sqlite3.connect(path, isolation_level=None)
    write_once(conn)
    conn.execute(create_table)
    if kind == "orders":
        conn.execute("ATTACH ? AS workspace", (workspace.resolve().as_uri() + "?mode=ro",))
    conn.execute("BEGIN")
    return conn


def close_after_writing(conn: sqlite3.Connection) -> None:
    """Keep the orders' unknown members beside the rows, and commit."""
    if conn.execute("SELECT 1 FROM sqlite_temp_master WHERE name = 'import_unknown'").fetchone():
        conn.execute("CREATE TABLE main.import_unknown AS SELECT * FROM temp.import_unknown")
    conn.execute("COMMIT")
    conn.close()


def append_to_workspace(conn: sqlite3.Connection, kind: str, path: Path) -> int:
    """Copy the scratch table's rows after the table's own (they come later in the file), and the
    unknown members the second process noted; returns the rows copied.

    The file stays attached until `detach`: SQLite detaches only outside a transaction.
    """
    table = TABLE[kind]
    conn.execute(f"ATTACH ? AS {SCHEMA}", (str(path),))
    copied = conn.execute(f"INSERT INTO main.{table} SELECT * FROM {SCHEMA}.{table}").rowcount
    noted = f"SELECT 1 FROM {SCHEMA}.sqlite_master WHERE name = 'import_unknown'"
    if conn.execute(noted).fetchone():
        create_unknown_table(conn)
        conn.execute(f"INSERT INTO temp.import_unknown SELECT member_id, phone FROM {SCHEMA}.import_unknown")
    return int(copied)


def detach(conn: sqlite3.Connection) -> None:
    if any(name == SCHEMA for _seq, name, _file in conn.execute("PRAGMA database_list").fetchall()):
        conn.execute(f"DETACH {SCHEMA}")


# ---------------------------------------------------------------- an import under way

def marker_file(workspace: Path) -> Path:
    """Beside the workspace while an import runs: what a command that finds the workspace busy
    tells the operator it waits for."""
    return workspace.parent / f".{workspace.name}-importing"


@contextmanager
def marked(conn: sqlite3.Connection, started_at: str) -> Iterator[None]:
    """The import's marker file, holding when it started, for the length of the block."""
    workspace = database_file(conn)
    if workspace is None:
        yield
        return
    marker = marker_file(workspace)
    try:
        marker.write_text(started_at, encoding="utf-8")
    except OSError:  # a read-only directory: the import itself will say so
        yield
        return
    try:
        yield
    finally:
        marker.unlink(missing_ok=True)


def running_import(workspace: Path) -> str | None:
    """When the import now running on `workspace` started, if one is."""
    try:
        return marker_file(workspace).read_text(encoding="utf-8").strip() or None
    except OSError:
        return None
