"""The member id of a member known only by their phone.

A phone is personal data, so it is never a member id: such a member's id is `p_` and a keyed hash
of the phone. The key is the workspace's own (made with the workspace, kept in `settings`), so the
same phone gets the same id in every command and every import, while an id seen in a plan or a CSV
cannot be turned back into the phone by hashing every mobile number.
"""

from __future__ import annotations

import hashlib
import hmac
import sqlite3
from collections.abc import Callable

PREFIX = "p_"


def phone_key(conn: sqlite3.Connection) -> bytes:
    row = conn.execute("SELECT value FROM settings WHERE name = 'phone_key'").fetchone()
    if row is None:  # pragma: no cover - every migrated workspace has one
        raise RuntimeError("the workspace has no phone key")
    return bytes.fromhex(str(row[0]))


def phone_member_id(key: bytes, phone: str) -> str:
    """`p_` + 16 hex digits of HMAC-SHA256(key, phone)."""
    return PREFIX + hmac.new(key, phone.encode(), hashlib.sha256).hexdigest()[:16]


def id_for_phone(conn: sqlite3.Connection) -> Callable[[str], str]:
    """phone -> member id, with this workspace's key."""
    key = phone_key(conn)
    return lambda phone: phone_member_id(key, phone)


def register(conn: sqlite3.Connection) -> None:
    """`phone_member_id(phone)` in this connection's SQL."""
    conn.create_function("phone_member_id", 1, id_for_phone(conn), deterministic=True)
