"""fast_null_binding: None still binds as NULL, and the adapter registry is left as it was."""

from __future__ import annotations

import sqlite3

from privdom.store.binding import fast_null_binding

_NONE = (type(None), sqlite3.PrepareProtocol)


def test_none_binds_as_null_inside_and_the_registry_is_restored_after() -> None:
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE t (a TEXT, b INTEGER)")
    assert _NONE not in sqlite3.adapters
    with fast_null_binding():
        assert _NONE in sqlite3.adapters
        conn.executemany("INSERT INTO t VALUES (?, ?)", [(None, 1), ("x", None), (None, None)])
        assert conn.execute("SELECT typeof(?)", (None,)).fetchone() == ("null",)
    assert _NONE not in sqlite3.adapters
    rows = conn.execute("SELECT typeof(a), typeof(b) FROM t ORDER BY rowid").fetchall()
    assert rows == [("null", "integer"), ("text", "null"), ("null", "null")]


def test_an_adapter_for_none_registered_elsewhere_is_kept() -> None:
    def theirs(_value: None) -> str:
        return "theirs"

    sqlite3.register_adapter(type(None), theirs)
    try:
        with fast_null_binding():
            assert sqlite3.adapters[_NONE] is theirs
        assert sqlite3.adapters[_NONE] is theirs
    finally:
        del sqlite3.adapters[_NONE]


def test_the_registry_is_restored_when_the_block_fails() -> None:
    try:
        with fast_null_binding():
            raise KeyboardInterrupt
    except KeyboardInterrupt:
        pass
    assert _NONE not in sqlite3.adapters
