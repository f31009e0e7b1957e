# ruff: noqa: E501 - rows of CSV exports read best on one line each
"""Helpers shared by the import tests: write dirty exports and read the database back."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import time
from pathlib import Path
from typing import Any

BRAND_MEMBERS = "会员卡号,客户名称,昵称,手机号,性别,生日,注册时间,来源渠道,添加人,所属门店,城市,标签,积分,会员等级,成长值,累计消费金额,累计消费次数,最后消费时间,备注"
BRAND_ORDERS = "订单号,会员卡号,手机号,支付时间,实付金额,订单状态,门店,下单渠道,商品"


def write(path: Path, lines: list[str], encoding: str = "utf-8") -> Path:
    path.write_bytes(("\n".join(lines) + "\n").encode(encoding))
    return path


def rows(db: Path, sql: str, *args: Any) -> list[dict[str, Any]]:
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in conn.execute(sql, args)]
    finally:
        conn.close()


def member(db: Path, member_id: str) -> dict[str, Any]:
    found = rows(db, "SELECT * FROM members WHERE member_id = ?", member_id)
    assert found, f"no member {member_id}"
    row = found[0]
    row["tags"] = json.loads(row["tags"]) if row["tags"] else None
    row["extra"] = json.loads(row["extra"]) if row["extra"] else None
    return row


def disk_full_error() -> sqlite3.OperationalError:
    """The error SQLite raises when a write finds no space (SQLITE_FULL), raised for real by a
    database that may not grow."""
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE t (x)")
    conn.execute(f"PRAGMA max_page_count = {conn.execute('PRAGMA page_count').fetchone()[0]}")
    try:
        conn.execute("INSERT INTO t VALUES (zeroblob(100000))")
    except sqlite3.OperationalError as exc:
        return exc
    finally:
        conn.close()
    raise AssertionError("the database grew past max_page_count")


def phone_id(db: Path, phone: str) -> str:
    """The member id the workspace gives a member known by this phone only (store.identity)."""
    from privdom.store.identity import phone_member_id

    key = rows(db, "SELECT value FROM settings WHERE name = 'phone_key'")[0]["value"]
    return phone_member_id(bytes.fromhex(key), phone)


def wait_for_write_lock(db: Path, proc: subprocess.Popen[bytes]) -> None:
    """Wait until `proc` holds the workspace's write lock (it is inside its transaction)."""
    probe = sqlite3.connect(db, timeout=0)
    deadline = time.monotonic() + 30
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                probe.execute("BEGIN IMMEDIATE")
                probe.execute("ROLLBACK")
                time.sleep(0.01)
            except sqlite3.OperationalError:
                return
    finally:
        probe.close()
    raise AssertionError("the command finished before it could be interrupted")
