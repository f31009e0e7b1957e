"""The persistent metrics cache: later commands reuse a build, and nothing stale is ever read."""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from import_helpers import disk_full_error
from privdom import metrics, store
from privdom.playbook import load_playbook
from privdom.store import metrics_cache, scratch

Cli = Callable[..., Any]
D = "2026-11-23"


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def _import(cli: Cli, kind: str, path: Path) -> None:
    res = cli("import", kind, str(path))
    assert res.exit_code == 0, res.stderr


def _tiers(cli: Cli) -> dict[str, int]:
    res = cli("tiers", "--date", D, "--format", "json")
    assert res.exit_code == 0, res.stderr
    return {c["id"]: c["members"] for c in res.json()["classes"]}


def _snapshots(workspace: Path) -> list[str]:
    return [p.name for p in metrics_cache.snapshots(workspace / "privdom.db")]


def _member_data(cli: Cli, workspace: Path) -> None:
    members = "member_id,name,joined_at\nA1,甲,2026-01-05\nA2,乙,2026-02-01\n"
    _import(cli, "members", _write(workspace / "m.csv", members))
    _import(
        cli, "orders", _write(workspace / "o1.csv", "order_id,member_id,paid_at,amount\n1,A1,2026-03-01 10:00,100\n")
    )


def test_a_second_command_reads_the_snapshot_the_first_built(cli: Cli, workspace: Path) -> None:
    _member_data(cli, workspace)
    assert _tiers(cli) == {"regular": 2, "silver": 0, "gold": 0}
    built = _snapshots(workspace)
    assert len(built) == 1
    res = cli("segments", "--date", D, "--format", "json")
    assert res.exit_code == 0, res.stderr
    assert cli("members", "--date", D, "--format", "csv").exit_code == 0
    assert _snapshots(workspace) == built


def test_an_import_of_more_orders_changes_the_tiers(cli: Cli, workspace: Path) -> None:
    _member_data(cli, workspace)
    assert _tiers(cli) == {"regular": 2, "silver": 0, "gold": 0}
    # 100 + 250 yuan = 3500 growth: silver from the next command on, never the cached regular.
    _import(
        cli, "orders", _write(workspace / "o2.csv", "order_id,member_id,paid_at,amount\n2,A1,2026-04-01 10:00,250\n")
    )
    assert _tiers(cli) == {"regular": 1, "silver": 1, "gold": 0}
    res = cli("member", "A1", "--date", D, "--format", "json")
    assert res.exit_code == 0, res.stderr
    assert res.json()["tier"]["id"] == "silver"
    assert res.json()["tier"]["since"] == "2026-04-01"


def test_an_unchanged_reimport_keeps_the_snapshot(cli: Cli, workspace: Path) -> None:
    _member_data(cli, workspace)
    _tiers(cli)
    built = _snapshots(workspace)
    _import(cli, "orders", workspace / "o1.csv")  # the same file: nothing changes, nothing is rebuilt
    _tiers(cli)
    assert _snapshots(workspace) == built


def test_editing_the_tier_thresholds_changes_the_tiers(cli: Cli, workspace: Path) -> None:
    _member_data(cli, workspace)
    assert _tiers(cli) == {"regular": 2, "silver": 0, "gold": 0}
    playbook = workspace / "sops" / "playbook.yaml"
    text = playbook.read_text(encoding="utf-8")
    assert "min: 3000\n" in text
    playbook.write_text(text.replace("min: 3000\n", "min: 500\n"), encoding="utf-8")
    assert _tiers(cli) == {"regular": 1, "silver": 1, "gold": 0}


def test_rows_written_without_an_import_are_seen(workspace: Path) -> None:
    conn = store.connect(workspace / "privdom.db")
    pb = load_playbook(workspace / "sops")
    conn.execute("INSERT INTO members (member_id, joined_at) VALUES ('B1', '2026-01-01')")
    metrics.materialize(conn, pb, date(2026, 11, 23))
    assert conn.execute("SELECT orders_total FROM member_metrics").fetchone()[0] == 0
    conn.execute("INSERT INTO orders (order_id, member_id, paid_at, amount_fen) VALUES ('x', 'B1', '2026-05-01', 9)")
    metrics.materialize(conn, pb, date(2026, 11, 23))
    assert conn.execute("SELECT orders_total FROM member_metrics").fetchone()[0] == 1
    conn.execute("DELETE FROM orders")
    metrics.materialize(conn, pb, date(2026, 11, 23))
    assert conn.execute("SELECT orders_total FROM member_metrics").fetchone()[0] == 0


def test_a_big_old_snapshot_leaves_the_list_at_once_and_is_deleted_aside(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    monkeypatch.setattr(metrics_cache, "_DELETE_ASIDE_BYTES", 0)  # every snapshot counts as big
    conn = store.connect(workspace / "privdom.db")
    pb = load_playbook(workspace / "sops")
    conn.execute("INSERT INTO members (member_id, joined_at) VALUES ('B1', '2026-01-01')")
    for day in range(1, 5):
        metrics.materialize(conn, pb, date(2026, 11, day))
        assert len(_snapshots(workspace)) == min(day, metrics_cache.KEEP)
    for thread in threading.enumerate():
        if thread.name == "privdom-evict":
            thread.join()
    assert [p.name for p in workspace.iterdir() if "retired" in p.name] == []
    assert conn.execute("SELECT COUNT(*) FROM member_metrics").fetchone()[0] == 1


def test_old_snapshots_are_dropped(workspace: Path) -> None:
    conn = store.connect(workspace / "privdom.db")
    pb = load_playbook(workspace / "sops")
    conn.execute("INSERT INTO members (member_id, joined_at) VALUES ('B1', '2026-01-01')")
    for day in range(1, 6):
        metrics.materialize(conn, pb, date(2026, 11, day))
    kept = _snapshots(workspace)
    assert len(kept) == metrics_cache.KEEP
    newest = metrics_cache.snapshots(workspace / "privdom.db")[0].stat()
    metrics.materialize(conn, pb, date(2026, 11, 5))  # the newest is still there: read, not rebuilt
    assert _snapshots(workspace) == kept
    assert metrics_cache.snapshots(workspace / "privdom.db")[0].stat().st_ino == newest.st_ino
    assert conn.execute("SELECT COUNT(*) FROM member_metrics").fetchone()[0] == 1


def test_inside_an_open_transaction_it_computes_for_the_connection_only(workspace: Path) -> None:
    conn = store.connect(workspace / "privdom.db")
    pb = load_playbook(workspace / "sops")
    conn.execute("BEGIN")
    conn.execute("INSERT INTO members (member_id, joined_at) VALUES ('B1', '2026-01-01')")
    metrics.materialize(conn, pb, date(2026, 11, 23))
    assert [r[0] for r in conn.execute("SELECT member_id FROM member_metrics")] == ["B1"]
    conn.execute("ROLLBACK")
    assert _snapshots(workspace) == []


def test_a_snapshot_is_a_file_beside_the_workspace_and_the_database_keeps_none(cli: Cli, workspace: Path) -> None:
    _member_data(cli, workspace)
    _tiers(cli)
    (snapshot,) = metrics_cache.snapshots(workspace / "privdom.db")
    assert snapshot.parent == workspace and snapshot.name.startswith("privdom.db-metrics-")
    with sqlite3.connect(snapshot) as conn:
        assert conn.execute("SELECT COUNT(*) FROM member_metrics").fetchone()[0] == 2
        assert conn.execute("PRAGMA page_size").fetchone()[0] == metrics_cache.SNAPSHOT_PAGE_SIZE
    with sqlite3.connect(workspace / "privdom.db") as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE name LIKE '%metrics%'")]
    assert tables == []


def test_a_failed_build_leaves_no_snapshot_and_the_next_command_builds_one(
    cli: Cli, workspace: Path, monkeypatch: Any
) -> None:
    _member_data(cli, workspace)
    conn = store.connect(workspace / "privdom.db")
    pb = load_playbook(workspace / "sops")
    real = metrics_cache.sql.build

    def killed(conn: sqlite3.Connection, q: Any, target: str) -> None:
        real(conn, q, target)
        raise KeyboardInterrupt  # after the rows went in, before the indexes: a half-built file

    monkeypatch.setattr(metrics_cache.sql, "build", killed)
    try:
        metrics.materialize(conn, pb, date(2026, 11, 23))
    except KeyboardInterrupt:
        pass
    else:
        raise AssertionError("the build was not interrupted")
    assert sorted(p.name for p in workspace.iterdir() if "metrics" in p.name) == []
    assert not conn.in_transaction
    monkeypatch.setattr(metrics_cache.sql, "build", real)
    metrics.materialize(conn, pb, date(2026, 11, 23))
    assert conn.execute("SELECT COUNT(*) FROM member_metrics").fetchone()[0] == 2
    assert len(_snapshots(workspace)) == 1


def test_a_snapshot_file_deleted_under_a_reader_is_built_again(cli: Cli, workspace: Path) -> None:
    """Another process's eviction can delete the file between the look and the ATTACH, which then
    makes an empty file of that name: the empty file is not taken for a snapshot."""
    _member_data(cli, workspace)
    assert _tiers(cli) == {"regular": 2, "silver": 0, "gold": 0}
    (snapshot,) = metrics_cache.snapshots(workspace / "privdom.db")
    snapshot.unlink()
    snapshot.touch()
    assert _tiers(cli) == {"regular": 2, "silver": 0, "gold": 0}
    (again,) = metrics_cache.snapshots(workspace / "privdom.db")
    assert again == snapshot and again.stat().st_size > 0


def test_a_folder_privdom_may_not_write_to_gets_the_metrics_for_the_connection(
    workspace: Path, monkeypatch: Any
) -> None:
    conn = store.connect(workspace / "privdom.db")
    pb = load_playbook(workspace / "sops")
    conn.execute("INSERT INTO members (member_id, joined_at) VALUES ('B1', '2026-01-01')")

    def refused(*args: Any, **kwargs: Any) -> tuple[int, str]:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(scratch.tempfile, "mkstemp", refused)
    metrics.materialize(conn, pb, date(2026, 11, 23))
    assert [r[0] for r in conn.execute("SELECT member_id FROM member_metrics")] == ["B1"]
    assert _snapshots(workspace) == []


def test_a_workspace_made_again_with_other_data_of_the_same_shape_reads_no_old_snapshot(
    cli: Cli, workspace: Path
) -> None:
    """The snapshot files outlive a deleted privdom.db. A new workspace whose imports give the same
    row counts and ids still has other files (sha256), so another key."""
    members = _write(workspace / "m.csv", "member_id,name,joined_at\nA1,甲,2026-01-05\nA2,乙,2026-02-01\n")
    _import(cli, "members", members)
    orders = "order_id,member_id,paid_at,amount\n1,A1,2026-03-01 10:00,350\n"
    _import(cli, "orders", _write(workspace / "o.csv", orders))
    res = cli("member", "A1", "--date", D, "--format", "json")
    assert res.json()["tier"]["id"] == "silver"
    (workspace / "privdom.db").unlink()
    assert cli("init").exit_code == 0
    _import(cli, "members", members)
    orders = "order_id,member_id,paid_at,amount\n1,A2,2026-03-01 10:00,350\n"
    _import(cli, "orders", _write(workspace / "o.csv", orders))
    res = cli("member", "A1", "--date", D, "--format", "json")
    assert res.exit_code == 0, res.stderr
    assert res.json()["tier"]["id"] == "regular"
    assert len(_snapshots(workspace)) == 2


def test_a_snapshot_may_be_read_by_whoever_may_read_the_workspace(cli: Cli, workspace: Path) -> None:
    (workspace / "privdom.db").chmod(0o640)
    _member_data(cli, workspace)
    _tiers(cli)
    (snapshot,) = metrics_cache.snapshots(workspace / "privdom.db")
    assert snapshot.stat().st_mode & 0o777 == 0o640


def test_an_import_commits_while_a_snapshot_is_built_and_the_snapshot_is_of_the_rows_before(
    workspace: Path, monkeypatch: Any
) -> None:
    """A build reads in a read transaction: a writer is never kept waiting, and what it commits
    meanwhile is neither in that snapshot nor hidden by it (the next command builds another)."""
    db = workspace / "privdom.db"
    conn = store.connect(db)
    pb = load_playbook(workspace / "sops")
    conn.execute("INSERT INTO members (member_id, joined_at) VALUES ('B1', '2026-01-01')")
    real = metrics_cache.sql.build

    def with_a_writer(c: sqlite3.Connection, q: Any, target: str) -> None:
        other = sqlite3.connect(db, timeout=0, isolation_level=None)  # busy at once if locked
        other.execute("BEGIN IMMEDIATE")
        other.execute("INSERT INTO members (member_id, joined_at) VALUES ('B2', '2026-01-01')")
        other.execute("COMMIT")
        other.close()
        real(c, q, target)

    monkeypatch.setattr(metrics_cache.sql, "build", with_a_writer)
    metrics.materialize(conn, pb, date(2026, 11, 23))
    assert [r[0] for r in conn.execute("SELECT member_id FROM member_metrics")] == ["B1"]
    monkeypatch.setattr(metrics_cache.sql, "build", real)
    metrics.materialize(conn, pb, date(2026, 11, 23))
    assert sorted(r[0] for r in conn.execute("SELECT member_id FROM member_metrics")) == ["B1", "B2"]


def test_a_build_clears_the_files_of_builds_killed_an_hour_ago_or_more(workspace: Path) -> None:
    """A build killed outright leaves its `.tmp`; another process may be writing a recent one."""
    conn = store.connect(workspace / "privdom.db")
    pb = load_playbook(workspace / "sops")
    old = workspace / ".privdom.db-metrics-k1ll3d.tmp"
    recent = workspace / ".privdom.db-metrics-bu1ld1ng.tmp"
    for path, age in ((old, metrics_cache.ABANDONED_AFTER_S + 60), (recent, 60)):
        path.write_bytes(b"")
        then = time.time() - age
        os.utime(path, (then, then))
    metrics.materialize(conn, pb, date(2026, 11, 23))
    assert not old.exists() and recent.exists()
    assert len(_snapshots(workspace)) == 1


def test_a_full_disk_during_a_build_is_an_error_line_and_leaves_no_file(
    cli: Cli, workspace: Path, monkeypatch: Any
) -> None:
    _member_data(cli, workspace)

    def full(conn: sqlite3.Connection, _q: Any) -> None:
        conn.execute("ROLLBACK")  # SQLite ends the transaction by itself after some failed writes
        raise disk_full_error()

    monkeypatch.setattr(metrics_cache, "_write", full)
    res = cli("tiers", "--date", D)
    assert res.exit_code == 1, res.stderr
    assert res.stderr.startswith("error: no space left on the disk; privdom.db is as it was before this command")
    assert sorted(p.name for p in workspace.iterdir() if "metrics" in p.name) == []
