"""A killed import leaves the database as it was: one file is one transaction."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import privdom
from import_helpers import wait_for_write_lock, write

ROWS = 100_000


def snapshot(db: Path) -> tuple[Any, ...]:
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        return (
            conn.execute(
                "SELECT count(*), group_concat(member_id || ':' || coalesce(name, '')) FROM members"
            ).fetchone(),
            conn.execute("SELECT count(*) FROM imports").fetchone(),
            conn.execute("SELECT count(*) FROM rejects").fetchone(),
        )
    finally:
        conn.close()


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL])
def test_killed_import_changes_nothing(cli: Callable[..., Any], workspace: Path, sig: signal.Signals) -> None:
    write(workspace / "small.csv", ["会员卡号,姓名", "000001,原名"])
    assert cli("import", "members", str(workspace / "small.csv")).exit_code == 0
    big = workspace / "big.csv"
    with big.open("w", encoding="utf-8") as f:
        f.write("会员卡号,姓名,手机号,注册时间,累计消费金额\n")
        f.writelines(f'{i:06d},新名{i},138{i:08d},2024/3/5 14:22,"¥1,234.50"\n' for i in range(ROWS))
    before = snapshot(workspace / "privdom.db")
    env = {**os.environ, "PYTHONPATH": str(Path(privdom.__file__).parent.parent)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "privdom", "import", "members", str(big)],
        cwd=workspace,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    wait_for_write_lock(workspace / "privdom.db", proc)  # then stop it
    proc.send_signal(sig)
    _out, err = proc.communicate(timeout=60)
    if sig == signal.SIGINT:
        assert proc.returncode == 130
        assert err.decode().strip().splitlines()[-1] == "interrupted: nothing was written"
    else:
        assert proc.returncode == -signal.SIGKILL
    assert snapshot(workspace / "privdom.db") == before
    # The workspace still works: the interrupted file imports fully afterwards (000001 was there).
    report = cli("import", "members", str(big), "--format", "json").json()
    assert (report["already_imported"], report["inserted"], report["updated"]) == (False, ROWS - 1, 1)


def test_two_imports_at_once_both_land(cli: Callable[..., Any], workspace: Path) -> None:
    """WAL plus the busy timeout: a second writer waits for the first instead of failing."""
    for name in ("a", "b"):
        with (workspace / f"{name}.csv").open("w", encoding="utf-8") as f:
            f.write("会员卡号,姓名\n")
            f.writelines(f"{name}{i:06d},名{i}\n" for i in range(20_000))
    env = {**os.environ, "PYTHONPATH": str(Path(privdom.__file__).parent.parent)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "privdom", "import", "members", f"{name}.csv", "--format", "json"],
            cwd=workspace,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for name in ("a", "b")
    ]
    results = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [err.decode() for _out, err in results]
    conn = sqlite3.connect(workspace / "privdom.db")
    try:
        assert conn.execute("SELECT count(*) FROM members").fetchone()[0] == 40_000
        assert conn.execute("SELECT count(*) FROM imports").fetchone()[0] == 2
    finally:
        conn.close()
