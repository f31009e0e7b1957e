"""init, the workspace paths, and the exit-code contract of the error boundary."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from import_helpers import disk_full_error
from privdom.store import SCHEMA_VERSION


def test_init_creates_a_wal_database_and_the_default_playbook(cli, tmp_path: Path) -> None:
    res = cli("init", "shop")
    assert res.exit_code == 0, res.stderr
    db = tmp_path / "shop" / "privdom.db"
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"members", "orders", "groups", "group_members", "activity", "imports", "rejects", "tasks"} <= tables
    assert list((tmp_path / "shop" / "sops").glob("*.yaml"))


def test_init_twice_keeps_an_edited_playbook_unless_forced(cli, tmp_path: Path) -> None:
    assert cli("init").exit_code == 0
    playbook = sorted((tmp_path / "sops").glob("*.yaml"))[0]
    playbook.write_text("# my edits\n" + playbook.read_text(encoding="utf-8"), encoding="utf-8")

    res = cli("init")
    assert res.exit_code == 0
    assert playbook.read_text(encoding="utf-8").startswith("# my edits")
    assert "kept" in res.stderr

    assert cli("init", "--force").exit_code == 0
    assert not playbook.read_text(encoding="utf-8").startswith("# my edits")


def test_db_and_sops_come_from_the_environment(cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PRIVDOM_DB", str(tmp_path / "elsewhere" / "x.db"))
    monkeypatch.setenv("PRIVDOM_SOPS", str(tmp_path / "elsewhere" / "playbooks"))
    assert cli("init").exit_code == 0
    assert (tmp_path / "elsewhere" / "x.db").exists()
    assert list((tmp_path / "elsewhere" / "playbooks").glob("*.yaml"))
    assert not (tmp_path / "privdom.db").exists()


def _first_version_workspace(db: Path, *, wal: bool = False) -> None:
    """A workspace as schema version 1 made it: SQLite's default page size, no application mark."""
    from privdom.store.schema import MIGRATIONS

    old = sqlite3.connect(db)
    if wal:
        old.execute("PRAGMA journal_mode = WAL")
    old.executescript(MIGRATIONS[0])
    old.execute("INSERT INTO members (member_id) VALUES ('keepme')")
    old.execute("PRAGMA user_version = 1")
    old.commit()
    old.close()


def test_an_old_workspace_is_upgraded_in_place_and_marked(tmp_path: Path) -> None:
    from privdom import store
    from privdom.store.schema import APPLICATION_ID

    db = tmp_path / "old.db"
    _first_version_workspace(db)
    conn = store.connect(db)
    assert store.schema_version(conn) == SCHEMA_VERSION
    assert conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    assert conn.execute("SELECT member_id FROM members").fetchone()[0] == "keepme"


def test_a_new_workspace_has_big_pages_and_an_old_one_keeps_its_own(tmp_path: Path) -> None:
    from privdom import store
    from privdom.store.schema import PAGE_SIZE

    assert PAGE_SIZE > 4096
    new = store.connect(tmp_path / "new.db", create=True)
    assert new.execute("PRAGMA page_size").fetchone()[0] == PAGE_SIZE
    assert new.execute("PRAGMA journal_mode").fetchone()[0] == "wal"

    db = tmp_path / "old.db"
    _first_version_workspace(db, wal=True)
    conn = store.connect(db)
    assert conn.execute("PRAGMA page_size").fetchone()[0] == 4096
    assert conn.execute("SELECT member_id FROM members").fetchone()[0] == "keepme"


def test_a_missing_database_is_a_user_error(cli) -> None:
    from privdom.cli.context import Workspace

    ws = Workspace(db=Path("nowhere/privdom.db"), sops=Path("sops"))
    with pytest.raises(Exception) as info:
        ws.connect()
    assert str(info.value) == "no workspace database at nowhere/privdom.db"


def test_a_bug_exits_3_and_writes_the_traceback_to_a_log(cli, tmp_path: Path, monkeypatch) -> None:
    import privdom.cli.workspace_cmd as workspace_cmd

    def broken(*args: object, **kwargs: object) -> None:
        phone = "1381234" + "5678"  # a local holding member data must never reach the log
        raise RuntimeError("boom " + phone[:0])

    monkeypatch.setattr(workspace_cmd, "init_workspace", broken)
    res = cli("init")
    assert res.exit_code == 3
    assert res.stderr.splitlines()[0] == "internal error: RuntimeError: boom "
    (log,) = (tmp_path / "logs").glob("privdom-crash-*.log")
    text = log.read_text(encoding="utf-8")
    assert "Traceback" in text and "RuntimeError: boom" in text
    assert "13812345678" not in text
    assert str(log) in res.stderr


def test_a_malformed_command_line_exits_2(cli) -> None:
    assert cli("init", "--no-such-option").exit_code == 2
    assert cli("no-such-command").exit_code == 2



def test_bad_input_gives_one_error_line_and_changes_nothing(cli, tmp_path: Path) -> None:
    assert cli("demo", "--dir", "ws", "--format", "json").exit_code == 0
    db = tmp_path / "ws" / "privdom.db"
    ws = ("--db", str(db), "--sops", str(tmp_path / "ws" / "sops"))
    retention = tmp_path / "ws" / "sops" / "retention.yaml"
    good = retention.read_text(encoding="utf-8")
    before = db.read_bytes()

    missing = cli(*ws, "import", "orders", "nope.csv")
    broken_import = cli(*ws, "import", "orders", str(tmp_path / "ws" / "privdom.db"))
    retention.write_text(good + "  - {id: broken\n", encoding="utf-8")
    broken = cli(*ws, "plan", "--save", "--date", "2026-11-23")

    assert (missing.exit_code, missing.stderr.splitlines()) == (
        1,
        ["error: nope.csv: no such file", "hint: check the path of the export"],
    )
    assert broken.exit_code == 1
    assert broken.stderr.startswith(f"error: {retention}:{len(good.splitlines()) + 1}: invalid YAML")
    assert broken_import.exit_code == 1 and "is not a text file" in broken_import.stderr
    for result in (missing, broken, broken_import):
        assert result.stderr.count("error:") == 1 and "Traceback" not in result.stderr
        assert result.stdout == ""
    assert db.read_bytes() == before
    retention.write_text(good, encoding="utf-8")

    # A short row is a structural reject: counted, written to the rejects file, no order stored.
    (tmp_path / "short.csv").write_text("订单号,会员卡号,实付金额\nT1,00010001\n", encoding="utf-8")
    short = cli(*ws, "import", "orders", "short.csv", "--allow-missing", "paid_at", "--rejects", "rejects.csv",
                "--format", "json")
    assert short.exit_code == 0 and short.json()["rejected"] == 1
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM orders WHERE order_id = 'T1'").fetchone()[0] == 0
    assert "T1" in (tmp_path / "rejects.csv").read_text(encoding="utf-8")


def test_a_first_version_workspace_upgrades_and_takes_an_activity_import(cli, tmp_path: Path) -> None:
    """A workspace made by schema version 1 (no metrics cache, activity without `extra`) keeps its data
    and imports activity exports with extra columns after the upgrade."""
    from privdom.store.schema import MIGRATIONS

    assert cli("init").exit_code == 0
    db = tmp_path / "privdom.db"
    db.unlink()
    old = sqlite3.connect(db)
    old.executescript(MIGRATIONS[0])
    old.execute("INSERT INTO members (member_id, name) VALUES ('00042', '老会员')")
    old.execute("PRAGMA user_version = 1")
    old.commit()
    old.close()
    export = "日期,群ID,会员卡号,发言数,心情\n2026-11-20,g1,00042,3,好\n"
    (tmp_path / "activity.csv").write_text(export, encoding="utf-8")

    res = cli("import", "activity", "activity.csv", "--format", "json")

    assert res.exit_code == 0, res.stderr
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert conn.execute("SELECT name FROM members").fetchall() == [("老会员",)]
        assert conn.execute("SELECT messages, extra FROM activity").fetchall() == [(3, '{"心情": "好"}')]


def test_a_third_version_workspace_keeps_its_members_and_orders_unique_after_the_upgrade(cli, tmp_path: Path) -> None:
    """Version 4 moves the member and order ids from the PRIMARY KEY to unique indexes: the rows, their
    order and the uniqueness survive, and the next import merges into them as before."""
    from privdom.store.schema import MIGRATIONS

    assert cli("init").exit_code == 0
    db = tmp_path / "privdom.db"
    db.unlink()
    old = sqlite3.connect(db)
    for script in MIGRATIONS[:3]:
        old.executescript(script)
    old.executemany("INSERT INTO members (member_id, name) VALUES (?, ?)", [("00042", "老会员"), ("00007", "七")])
    old.execute(
        "INSERT INTO orders (order_id, member_id, paid_at, amount_fen)"
        " VALUES ('T1', '00042', '2026-11-01 10:00:00', 100)"
    )
    old.execute("PRAGMA user_version = 3")
    old.commit()
    old.close()
    orders = "订单号,会员卡号,支付时间,实付金额\nT1,00042,2026-11-01 10:00:00,2.50\nT2,00007,2026-11-02 10:00:00,3\n"
    (tmp_path / "orders.csv").write_text(orders, encoding="utf-8")

    res = cli("import", "orders", "orders.csv", "--format", "json")

    assert res.exit_code == 0, res.stderr
    assert {k: res.json()[k] for k in ("inserted", "updated")} == {"inserted": 1, "updated": 1}
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        members = conn.execute("SELECT member_id, name FROM members ORDER BY rowid").fetchall()
        assert members == [("00042", "老会员"), ("00007", "七")]
        orders = conn.execute("SELECT order_id, amount_fen FROM orders ORDER BY 1").fetchall()
        assert orders == [("T1", 250), ("T2", 300)]
        for again in ("INSERT INTO members (member_id) VALUES ('00042')",
                      "INSERT INTO orders (order_id, member_id) VALUES ('T1', '00007')"):
            with pytest.raises(sqlite3.IntegrityError, match="UNIQUE"):
                conn.execute(again)


def test_a_fourth_version_workspace_lets_go_of_the_snapshots_it_kept_inside(cli, tmp_path: Path) -> None:
    """Version 5 keeps metrics snapshots in files of their own: the tables version 2-4 kept in the
    database are dropped with their list, the data stays, and the next command builds a file."""
    from privdom.store.schema import MIGRATIONS

    assert cli("init").exit_code == 0
    db = tmp_path / "privdom.db"
    db.unlink()
    old = sqlite3.connect(db)
    for script in MIGRATIONS[:4]:
        assert isinstance(script, str)
        old.executescript(script)
    old.execute("INSERT INTO members (member_id, name, joined_at) VALUES ('00042', '老会员', '2026-01-01')")
    old.execute("CREATE TABLE metrics_snapshot_0123456789abcdef01234567 (member_id TEXT)")
    old.execute(
        "INSERT INTO metrics_cache (cache_key, table_name, as_of)"
        " VALUES ('k', 'metrics_snapshot_0123456789abcdef01234567', '2026-11-23')"
    )
    old.execute("PRAGMA user_version = 4")
    old.commit()
    old.close()

    res = cli("tiers", "--date", "2026-11-23", "--format", "json")

    assert res.exit_code == 0, res.stderr
    assert {c["id"]: c["members"] for c in res.json()["classes"]}["regular"] == 1
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert conn.execute("SELECT name FROM sqlite_master WHERE name LIKE 'metrics%'").fetchall() == []
        assert conn.execute("SELECT name FROM members").fetchall() == [("老会员",)]
    assert [p.name.startswith("privdom.db-metrics-") for p in tmp_path.iterdir() if "metrics" in p.name] == [True]


def _disk_full_after(monkeypatch: pytest.MonkeyPatch, pages: int) -> None:
    """Every workspace connection may grow the file by `pages` pages at most: past that, SQLite
    reports SQLITE_FULL, as it does for a full disk."""
    from privdom import store

    real = store.schema.connect

    def connect(path: Path, *, create: bool = False) -> sqlite3.Connection:
        conn = real(path, create=create)
        used = conn.execute("PRAGMA page_count").fetchone()[0]
        conn.execute(f"PRAGMA max_page_count = {used + pages}")
        return conn

    monkeypatch.setattr(store, "connect", connect)


def test_a_fifth_version_workspace_keeps_its_members_and_indexes_only_the_ids_it_has(cli, tmp_path: Path) -> None:
    """Version 6 leaves NULL phones and WeCom ids out of their indexes; lookups still use them."""
    from privdom.store.schema import MIGRATIONS

    db = tmp_path / "privdom.db"
    old = sqlite3.connect(db)
    for script in MIGRATIONS[:5]:
        if callable(script):
            script(old)
        else:
            old.executescript(script)
    old.execute("INSERT INTO members (member_id, phone, joined_at) VALUES ('00042', '13800000042', '2026-01-01')")
    old.execute("INSERT INTO members (member_id, external_userid, joined_at) VALUES ('wm1', 'wm1', '2026-01-02')")
    old.execute("PRAGMA user_version = 5")
    old.commit()
    old.close()
    assert cli("init").exit_code == 0

    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert conn.execute("SELECT count(*) FROM members").fetchone()[0] == 2
        names = "('members_phone', 'members_external')"
        indexes = dict(conn.execute(f"SELECT name, sql FROM sqlite_master WHERE name IN {names}"))
        assert indexes["members_phone"].endswith("WHERE phone IS NOT NULL")
        assert indexes["members_external"].endswith("WHERE external_userid IS NOT NULL")
        for index, column, value in (("members_phone", "phone", "13800000042"),
                                     ("members_external", "external_userid", "wm1")):
            lookup = f"SELECT member_id FROM members WHERE {column} = ?"
            plan = " ".join(r[3] for r in conn.execute(f"EXPLAIN QUERY PLAN {lookup}", (value,)))
            assert f"USING INDEX {index}" in plan, plan
            found = f"SELECT member_id FROM members INDEXED BY {index} WHERE {column} = ?"
            assert len(conn.execute(found, (value,)).fetchall()) == 1


def test_a_full_disk_during_an_import_is_an_error_line_and_changes_nothing(
    cli, workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lines = ["member_id,name,phone,joined_at"] + [f"M{i:05d},会员{i},138{i:08d},2026-01-05" for i in range(3000)]
    (workspace / "m.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    _disk_full_after(monkeypatch, 2)

    res = cli("import", "members", "m.csv")
    assert res.exit_code == 1, res.stderr
    assert res.stderr.startswith("error: no space left on the disk; privdom.db is as it was before this command")
    assert "hint: free some space" in res.stderr
    assert "Traceback" not in res.stderr and not (workspace / "logs").exists()
    with sqlite3.connect(workspace / "privdom.db") as conn:
        assert conn.execute("SELECT count(*) FROM members").fetchone()[0] == 0
        assert conn.execute("SELECT count(*) FROM imports").fetchone()[0] == 0

    _disk_full_after(monkeypatch, 1_000_000)  # space again: the same file imports
    assert cli("import", "members", "m.csv").exit_code == 0


def test_a_full_disk_after_sqlite_rolled_back_by_itself_is_the_same_error(
    cli, workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite ends the whole transaction after some failed writes; the import must not then fail
    on its own ROLLBACK (that was exit 3, 'cannot rollback - no transaction is active')."""
    from privdom.store import bulk_insert

    def full(conn: sqlite3.Connection, *_args: object) -> None:
        conn.execute("ROLLBACK")  # what SQLite does on a full disk in the middle of a write
        raise disk_full_error()

    monkeypatch.setattr(bulk_insert, "append_rows", full)
    (workspace / "m.csv").write_text("member_id,name\nM1,甲\n", encoding="utf-8")
    res = cli("import", "members", "m.csv")
    assert res.exit_code == 1, res.stderr
    assert res.stderr.startswith("error: no space left on the disk; privdom.db is as it was before this command")
    with sqlite3.connect(workspace / "privdom.db") as conn:
        assert conn.execute("SELECT count(*) FROM members").fetchone()[0] == 0


def test_what_counts_as_a_full_disk() -> None:
    import errno

    from privdom.errors import disk_full

    assert disk_full(OSError(errno.ENOSPC, "No space left on device"))
    assert disk_full(disk_full_error())
    assert not disk_full(sqlite3.OperationalError("database or disk is full"))  # not from SQLite: no code
    assert not disk_full(OSError(errno.EACCES, "Permission denied"))
    assert not disk_full(sqlite3.OperationalError("database is locked"))
    assert not disk_full(ValueError("disk is full"))
