"""The workspace database: connection, schema and migrations.

The schema is versioned with `PRAGMA user_version`. Each entry of MIGRATIONS upgrades a database
from version i to i+1, so an old workspace is upgraded in place and never rebuilt.

Conventions every module relies on:
* IDs are TEXT (leading zeros kept).
* Money is INTEGER fen.
* Times are local wall-clock text in the playbook's timezone, `YYYY-MM-DD HH:MM:SS`
  (dates `YYYY-MM-DD`), so `substr(x, 1, 10)` is the local date and text order is time order.
* `extra` is a JSON object of every source column that has no field.
* `tags` is a JSON array of strings.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from privdom.errors import DAMAGED_HINT, READ_ONLY_HINT, PrivdomError, damaged, read_only
from privdom.store import identity

BUSY_TIMEOUT_MS = 30_000


def busy_timeout_ms() -> int:
    """How long a command waits for another one holding the workspace (an import) before it says
    the workspace is busy: BUSY_TIMEOUT_MS, or PRIVDOM_BUSY_TIMEOUT_MS for scripts that would
    rather fail fast."""
    value = os.environ.get("PRIVDOM_BUSY_TIMEOUT_MS", "")
    return int(value) if value.isdigit() else BUSY_TIMEOUT_MS

# The page size of a new workspace; SQLite's default is 4 KiB. A first import of 4.6M orders writes
# about 900 MB of table and index pages, each into the WAL and again into the file at the commit,
# and with 16 KiB pages it writes a quarter as many. Measured in alternating runs on one machine:
# the copy, index builds and commit of that import took 6.6-7.3 s instead of 9.1-9.8 s, while
# plans, segments, tiers and the members CSV ran as fast as before. A workspace made with smaller
# pages keeps them: WAL mode fixes the page size.
PAGE_SIZE = 16_384


def _drop_snapshot_tables(conn: sqlite3.Connection) -> None:
    """4 -> 5: metrics snapshots moved out of the workspace into files of their own (see
    store/metrics_cache.py): the tables of version 2's cache go, with their list."""
    for (table,) in conn.execute("SELECT table_name FROM metrics_cache").fetchall():
        conn.execute(f'DROP TABLE IF EXISTS "{table}"')
    conn.execute("DROP TABLE metrics_cache")


def _phone_ids(conn: sqlite3.Connection) -> None:
    """7 -> 8: the workspace's key for the member ids of members known by phone only
    (store/identity.py), and the options an import read its file with (the same file read with
    another --map is another import). Members an earlier version keyed by their phone take their
    `p_` id, and every row that refers to them moves with them."""
    conn.execute("CREATE TABLE settings (name TEXT PRIMARY KEY, value TEXT NOT NULL)")
    conn.execute("INSERT INTO settings VALUES ('phone_key', lower(hex(randomblob(16))))")
    conn.execute("ALTER TABLE imports ADD COLUMN options TEXT")
    identity.register(conn)
    conn.execute(
        "CREATE TEMP TABLE phone_rekey AS SELECT member_id AS old, phone_member_id(phone) AS new"
        " FROM members WHERE member_id = phone"
    )
    for table in ("members", "orders", "group_members", "activity", "tasks", "deferrals"):
        conn.execute(
            f"""UPDATE {table} SET member_id = (SELECT new FROM phone_rekey WHERE old = {table}.member_id)
                WHERE member_id IN (SELECT old FROM phone_rekey)"""
        )
    conn.execute("DROP TABLE temp.phone_rekey")


def _member_changes(conn: sqlite3.Connection) -> None:
    """8 -> 9: the members whose metrics inputs changed, kept by the database itself, so that the
    metrics of a new date patch yesterday's snapshot instead of computing every member again
    (store/metrics_patch.py).

    * `settings.workspace_id`: a random id, so that a workspace made again in the same folder never
      takes the snapshots of the one before for its own.
    * `member_changes`: one row per member id written, deleted or changed in `members`, `orders`
      or `activity`, by triggers, whatever the statement (an import's upsert, a merge that re-keys
      orders, a refund, a row changed by hand). AUTOINCREMENT: a sequence number is never given
      twice, so a snapshot's "changes up to N" stays true after old rows are pruned. A row with no
      member id says "every member": a first import into an empty table drops the triggers for its
      load, as it drops the indexes, and writes one such row instead of millions.
    * The date indexes find the members a new date touches without reading every row: the orders
      that enter the day or leave a window, the members who join, the exported last orders that
      enter or leave a window.
    """
    conn.execute("INSERT INTO settings VALUES ('workspace_id', lower(hex(randomblob(16))))")
    conn.execute("CREATE TABLE member_changes (seq INTEGER PRIMARY KEY AUTOINCREMENT, member_id TEXT)")
    conn.execute("INSERT INTO member_changes (member_id) VALUES (NULL)")  # the data before: all of it
    for table in CHANGE_TRIGGERED:
        columns = [str(r[1]) for r in conn.execute(f"PRAGMA table_info({table})")]
        for statement in change_triggers(table, columns):
            conn.execute(statement)
    # Each import forgets all but the last KEPT_CHANGES: a snapshot older than those is not patched
    # (metrics_patch sees the gap) but built in full, as it would be anyway after that many changes.
    conn.execute(
        "CREATE TRIGGER imports_forget_changes AFTER INSERT ON imports BEGIN DELETE FROM member_changes"
        f" WHERE seq <= (SELECT seq FROM sqlite_sequence WHERE name = 'member_changes') - {KEPT_CHANGES}; END"
    )
    conn.execute("CREATE INDEX orders_paid ON orders(paid_at, member_id)")
    conn.execute("CREATE INDEX members_joined ON members(joined_at) WHERE joined_at IS NOT NULL")
    conn.execute("CREATE INDEX members_last_order ON members(last_order_at) WHERE last_order_at IS NOT NULL")


def _totals_cover_and_saved_mornings(conn: sqlite3.Connection) -> None:
    """9 -> 10: two records an earlier version did not keep.

    * `members.totals_as_of`: when the export totals of a member (orders, spend) were imported.
      Totals without a last order time cover the orders paid up to then, and later orders come on
      top of them (docs/metrics.md). Members imported before take the time of the last members
      import: the export was made before it, so no order is counted twice.
    * `saved_mornings`: every morning a plan was saved, with or without tasks, so the next morning
      tells a morning saved empty from a missed one (planner catch-up)."""
    conn.execute("ALTER TABLE members ADD COLUMN totals_as_of TEXT")
    conn.execute(
        """UPDATE members SET totals_as_of = (SELECT max(started_at) FROM imports
                                              WHERE kind = 'members' AND status = 'ok')
           WHERE COALESCE(order_count, 0) > 0 OR COALESCE(total_spent_fen, 0) > 0"""
    )
    # The update trigger compares every column: it must see the new one.
    conn.execute("DROP TRIGGER members_changes_update")
    columns = [str(r[1]) for r in conn.execute("PRAGMA table_info(members)")]
    conn.execute(change_triggers("members", columns)[2])
    conn.execute("CREATE TABLE saved_mornings (date TEXT PRIMARY KEY, saved_at TEXT NOT NULL)")
    conn.execute("INSERT INTO saved_mornings SELECT date, min(created_at) FROM tasks GROUP BY date")


# The changes `member_changes` keeps: a few years of a big brand's days, tens of MB at most.
KEPT_CHANGES = 2_000_000
# The tables member metrics are computed from; their triggers write `member_changes`.
CHANGE_TRIGGERED = ("members", "orders", "activity")


def change_triggers(table: str, columns: list[str]) -> list[str]:
    """The three triggers that note the member ids a write to `table` touches. An update notes
    them only when a value differs (an upsert rewrites unchanged rows), and both ids when the
    row moves to another member."""
    differs = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in columns)
    log = "INSERT INTO member_changes (member_id) VALUES"
    return [
        f"CREATE TRIGGER {table}_changes_insert AFTER INSERT ON {table} BEGIN {log} (NEW.member_id); END",
        f"CREATE TRIGGER {table}_changes_delete AFTER DELETE ON {table} BEGIN {log} (OLD.member_id); END",
        f"CREATE TRIGGER {table}_changes_update AFTER UPDATE ON {table} WHEN {differs} BEGIN "
        f"{log} (OLD.member_id); "
        f"INSERT INTO member_changes (member_id) SELECT NEW.member_id WHERE NEW.member_id IS NOT OLD.member_id; "
        "END",
    ]


# A step is SQL statements, or a function for a step that needs to look at the data first.
MIGRATIONS: list[str | Callable[[sqlite3.Connection], None]] = [
    # 0 -> 1: the first schema.
    """
    CREATE TABLE members (
        member_id       TEXT PRIMARY KEY,
        external_userid TEXT,
        name            TEXT,
        nickname        TEXT,
        phone           TEXT,
        phone_display   TEXT,
        gender          TEXT,
        birthday        TEXT,
        birthday_md     TEXT,
        joined_at       TEXT,
        channel         TEXT,
        owner           TEXT,
        store           TEXT,
        region          TEXT,
        tags            TEXT,
        points          INTEGER,
        level           TEXT,
        growth          INTEGER,
        total_spent_fen INTEGER,
        order_count     INTEGER,
        last_order_at   TEXT,
        source          TEXT NOT NULL DEFAULT 'members',
        extra           TEXT
    );
    CREATE INDEX members_phone ON members(phone);
    CREATE INDEX members_external ON members(external_userid);

    CREATE TABLE orders (
        order_id   TEXT PRIMARY KEY,
        member_id  TEXT NOT NULL,
        paid_at    TEXT,
        amount_fen INTEGER NOT NULL DEFAULT 0,
        status     TEXT,
        counted    INTEGER NOT NULL DEFAULT 1,
        store      TEXT,
        channel    TEXT,
        extra      TEXT
    );
    CREATE INDEX orders_member ON orders(member_id, paid_at, amount_fen, counted);

    CREATE TABLE groups (
        group_id   TEXT PRIMARY KEY,
        name       TEXT,
        type       TEXT,
        owner      TEXT,
        size       INTEGER,
        capacity   INTEGER,
        created_at TEXT,
        region     TEXT,
        tags       TEXT,
        extra      TEXT
    );

    CREATE TABLE group_members (
        group_id  TEXT NOT NULL,
        member_id TEXT NOT NULL,
        joined_at TEXT,
        left_at   TEXT,
        extra     TEXT,
        PRIMARY KEY (group_id, member_id)
    );
    CREATE INDEX group_members_member ON group_members(member_id);

    CREATE TABLE activity (
        date      TEXT NOT NULL,
        group_id  TEXT NOT NULL,
        member_id TEXT NOT NULL,
        messages  INTEGER NOT NULL DEFAULT 0,
        images    INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (date, group_id, member_id)
    );
    CREATE INDEX activity_member ON activity(member_id, date);
    CREATE INDEX activity_group ON activity(group_id, date);

    CREATE TABLE imports (
        import_id   INTEGER PRIMARY KEY AUTOINCREMENT,
        kind        TEXT NOT NULL,
        file_name   TEXT NOT NULL,
        sha256      TEXT NOT NULL,
        encoding    TEXT,
        started_at  TEXT NOT NULL,
        seconds     REAL,
        counts      TEXT,
        status      TEXT NOT NULL
    );

    CREATE TABLE rejects (
        import_id INTEGER NOT NULL,
        record    INTEGER NOT NULL,
        line      INTEGER NOT NULL,
        reason    TEXT NOT NULL,
        raw       TEXT
    );

    CREATE TABLE tasks (
        task_id    TEXT PRIMARY KEY,
        date       TEXT NOT NULL,
        rule       TEXT NOT NULL,
        stage      TEXT NOT NULL,
        trigger    TEXT NOT NULL,
        action     TEXT NOT NULL,
        content_type TEXT,
        member_id  TEXT,
        group_id   TEXT,
        owner      TEXT,
        due_at     TEXT NOT NULL,
        event_date TEXT,
        message    TEXT,
        reason     TEXT,
        priority   INTEGER,
        status     TEXT NOT NULL DEFAULT 'open',
        note       TEXT,
        created_at TEXT NOT NULL,
        closed_at  TEXT
    );
    CREATE INDEX tasks_date ON tasks(date);
    CREATE INDEX tasks_member ON tasks(member_id, date);
    CREATE INDEX tasks_rule ON tasks(rule, member_id, group_id, event_date);
    """,
    # ---- 1 -> 2: the metrics cache of versions 2-4. Snapshot tables `metrics_snapshot_<key>`
    # were created and dropped at run time and listed here (dropped by 4 -> 5).
    """
    CREATE TABLE metrics_cache (
        snapshot_id INTEGER PRIMARY KEY,
        cache_key   TEXT NOT NULL UNIQUE,
        table_name  TEXT NOT NULL,
        as_of       TEXT NOT NULL
    );
    """,
    # ---- 2 -> 3: activity exports keep their unmapped columns, like members and orders do.
    """
    ALTER TABLE activity ADD COLUMN extra TEXT;
    """,
    # ---- 3 -> 4: the member and order ids are kept unique by an index of their own instead of the
    # PRIMARY KEY, which SQLite never lets go of. A first import of a big file can then drop the
    # index, append the rows, and build the index once at the end: a sort, instead of millions of
    # inserts at random places in a B-tree (see store/bulk_insert.py). Same columns, same rows.
    """
    CREATE TABLE members_v4 (
        member_id       TEXT,
        external_userid TEXT,
        name            TEXT,
        nickname        TEXT,
        phone           TEXT,
        phone_display   TEXT,
        gender          TEXT,
        birthday        TEXT,
        birthday_md     TEXT,
        joined_at       TEXT,
        channel         TEXT,
        owner           TEXT,
        store           TEXT,
        region          TEXT,
        tags            TEXT,
        points          INTEGER,
        level           TEXT,
        growth          INTEGER,
        total_spent_fen INTEGER,
        order_count     INTEGER,
        last_order_at   TEXT,
        source          TEXT NOT NULL DEFAULT 'members',
        extra           TEXT
    );
    INSERT INTO members_v4 SELECT * FROM members ORDER BY rowid;
    DROP TABLE members;
    ALTER TABLE members_v4 RENAME TO members;
    CREATE UNIQUE INDEX members_key ON members(member_id);
    CREATE INDEX members_phone ON members(phone);
    CREATE INDEX members_external ON members(external_userid);

    CREATE TABLE orders_v4 (
        order_id   TEXT,
        member_id  TEXT NOT NULL,
        paid_at    TEXT,
        amount_fen INTEGER NOT NULL DEFAULT 0,
        status     TEXT,
        counted    INTEGER NOT NULL DEFAULT 1,
        store      TEXT,
        channel    TEXT,
        extra      TEXT
    );
    INSERT INTO orders_v4 SELECT * FROM orders ORDER BY rowid;
    DROP TABLE orders;
    ALTER TABLE orders_v4 RENAME TO orders;
    CREATE UNIQUE INDEX orders_key ON orders(order_id);
    CREATE INDEX orders_member ON orders(member_id, paid_at, amount_fen, counted);
    """,
    _drop_snapshot_tables,
    # 5 -> 6: a member's phone and WeCom id are optional, and they are only ever looked up by
    # equality, which never matches NULL: the indexes leave the empty ones out. A members export
    # without WeCom ids (most of them) made a first import sort a million NULLs for nothing:
    # 0.41 s at 1M members against 0.09 s with the partial index.
    """
    DROP INDEX members_phone;
    CREATE INDEX members_phone ON members(phone) WHERE phone IS NOT NULL;
    DROP INDEX members_external;
    CREATE INDEX members_external ON members(external_userid) WHERE external_userid IS NOT NULL;
    """,
    # 6 -> 7: `privdom review` compares done tasks with tasks that waited for a cap or capacity and
    # were never sent. A saved plan records the first morning each deferred task waited; held-out
    # tasks (a rule's `holdout:`) are rows of `tasks` with status `holdout`.
    """
    CREATE TABLE deferrals (
        task_id    TEXT PRIMARY KEY,
        date       TEXT NOT NULL,
        rule       TEXT NOT NULL,
        stage      TEXT NOT NULL,
        action     TEXT NOT NULL,
        member_id  TEXT,
        group_id   TEXT,
        owner      TEXT,
        due_at     TEXT NOT NULL,
        event_date TEXT,
        cause      TEXT NOT NULL
    );
    CREATE INDEX deferrals_rule ON deferrals(rule, date);
    """,
    # ---- 7 -> 8: see _phone_ids.
    _phone_ids,
    # ---- 8 -> 9: see _member_changes.
    _member_changes,
    # ---- 9 -> 10: see _totals_cover_and_saved_mornings.
    _totals_cover_and_saved_mornings,
]

SCHEMA_VERSION = len(MIGRATIONS)


# privdom's mark in the header of every workspace it creates (`PRAGMA application_id`, "PrDm"), so a
# command pointed at another application's SQLite file refuses it instead of adding tables to it.
APPLICATION_ID = int.from_bytes(b"PrDm", "big")
# Workspaces made before the mark are told by their schema: a user_version and these tables.
_WORKSPACE_TABLES = frozenset({"members", "orders", "groups", "group_members", "activity", "imports", "rejects",
                               "tasks"})
_NOT_OURS_HINT = "point --db (or PRIVDOM_DB) at the privdom.db that `privdom init` created"


def connect(path: Path, *, create: bool = False) -> sqlite3.Connection:
    """Open the workspace database in WAL mode, upgrading an older schema in place.

    Only `create` (privdom init) makes a new workspace. A file that is not privdom's is refused
    before anything is written to it: not a byte of another application's database changes.
    """
    if not create and not path.exists():
        raise PrivdomError(
            f"no workspace database at {path}",
            hint="run `privdom init` first, or point --db / PRIVDOM_DB at an existing privdom.db",
        )
    if path.exists() and not path.is_file():
        raise PrivdomError(f"{path} is not a regular file, so it cannot be a workspace database", hint=_NOT_OURS_HINT)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise PrivdomError(f"cannot make the folder of {path} ({exc.strerror})", hint=READ_ONLY_HINT) from None
    if not _writable(path):
        raise PrivdomError(f"{path} is read-only here: privdom cannot write it or its folder", hint=READ_ONLY_HINT)
    new = not path.exists() or path.stat().st_size == 0
    try:
        busy_ms = busy_timeout_ms()
        conn = sqlite3.connect(path, timeout=busy_ms / 1000, isolation_level=None)
        conn.execute(f"PRAGMA busy_timeout = {busy_ms}")
        if not new:
            _check_ours(conn, path, create)
        elif not create:
            conn.close()
            raise PrivdomError(f"{path} is empty: there is no workspace in it",
                               hint="run `privdom init` to create the workspace there")
        if new:
            conn.execute(f"PRAGMA page_size = {PAGE_SIZE}")  # before WAL mode, which fixes it
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        # An INSERT OR REPLACE then fires the delete triggers of the rows it replaces, so the
        # member a replaced order belonged to is noted as changed too.
        conn.execute("PRAGMA recursive_triggers = ON")
    except sqlite3.DatabaseError as exc:
        if read_only(exc):
            raise
        if exc.sqlite_errorcode & 0xFF == sqlite3.SQLITE_CANTOPEN:
            raise PrivdomError(f"cannot open {path} ({exc})", hint=READ_ONLY_HINT) from None
        if damaged(exc):
            raise PrivdomError(f"{path} is damaged ({exc})", hint=DAMAGED_HINT) from None
        raise PrivdomError(
            f"{path} is not a privdom workspace ({exc})",
            hint=_NOT_OURS_HINT,
        ) from None
    conn.row_factory = sqlite3.Row
    migrate(conn, path)
    identity.register(conn)
    return conn


def _writable(path: Path) -> bool:
    """The file (when there is one) and its folder, where SQLite puts its -wal and -shm files, may
    be written. A read-only file system says no to root as well."""
    return (not path.exists() or os.access(path, os.W_OK)) and os.access(path.parent, os.W_OK)


def _check_ours(conn: sqlite3.Connection, path: Path, create: bool) -> None:
    """Refuse a database privdom did not make, having only read it. An SQLite file with no tables
    at all becomes a workspace only for `init`."""
    mark = conn.execute("PRAGMA application_id").fetchone()[0]
    if mark == APPLICATION_ID:
        return
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if mark == 0 and schema_version(conn) > 0 and _WORKSPACE_TABLES <= tables:
        return  # a workspace from before the mark; `migrate` writes it
    if mark == 0 and not tables and create:
        return
    conn.close()
    if mark == 0 and not tables:
        raise PrivdomError(f"{path} has no workspace in it", hint="run `privdom init` to create the workspace there")
    shown = ", ".join(sorted(tables)[:5]) + (", ..." if len(tables) > 5 else "")
    raise PrivdomError(
        f"{path} is not a privdom workspace (it is another application's SQLite database"
        + (f", with tables {shown})" if tables else ")"),
        hint=_NOT_OURS_HINT + "; privdom never writes to another application's database",
    )


def schema_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def migrate(conn: sqlite3.Connection, path: Path | None = None) -> None:
    version = schema_version(conn)
    if version > SCHEMA_VERSION:
        raise PrivdomError(
            f"{path or 'the database'} has schema version {version}, newer than this privdom ({SCHEMA_VERSION})",
            hint="upgrade privdom: pip install -U privdom",
        )
    marked = conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    if version == SCHEMA_VERSION and marked:
        return
    with transaction(conn):
        for step in MIGRATIONS[version:]:
            if callable(step):
                step(conn)
                continue
            for statement in _statements(step):
                conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")


def _statements(script: str) -> list[str]:
    # executescript() would COMMIT our open transaction; split so a migration is all-or-nothing.
    return [s.strip() for s in script.split(";") if s.strip()]


def write_once(conn: sqlite3.Connection, schema: str = "main", page_size: int = PAGE_SIZE) -> None:
    """Settings for a file beside the workspace that is written once and thrown away if the
    writing fails (the import's scratch file, a metrics snapshot being built): the workspace's page
    size, no journal, no syncs. Before the file's first table, which fixes the page size."""
    conn.execute(f"PRAGMA {schema}.page_size = {int(page_size)}")
    conn.execute(f"PRAGMA {schema}.journal_mode = OFF")
    conn.execute(f"PRAGMA {schema}.synchronous = OFF")


def rollback(conn: sqlite3.Connection) -> None:
    """ROLLBACK, unless SQLite has already rolled back by itself (it does after some errors, a full
    disk among them, and a second ROLLBACK would raise)."""
    if conn.in_transaction:
        conn.execute("ROLLBACK")


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE ... COMMIT; anything raised (Ctrl-C included) rolls back."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        rollback(conn)
        raise
    conn.execute("COMMIT")
