"""Settings an import changes for a while (no fsync, a bigger cache, sorter threads) come back after it."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from privdom.store import bulk_insert, imports, schema


def _settings(conn: sqlite3.Connection) -> tuple[int, ...]:
    names = ("synchronous", "main.cache_size", "threads")
    return tuple(int(conn.execute(f"PRAGMA {name}").fetchone()[0]) for name in names)


def test_settings_are_restored_after_the_block_and_after_a_failure(tmp_path: Path) -> None:
    conn = schema.connect(tmp_path / "privdom.db", create=True)
    try:
        before = _settings(conn)
        with imports.bulk_settings(conn):
            assert _settings(conn)[:2] == (0, -imports.BULK_CACHE_KIB)
            with bulk_insert.sorting_in_threads(conn):
                assert _settings(conn)[1:] == (-bulk_insert.SORT_CACHE_KIB, bulk_insert.SORT_THREADS)
            assert _settings(conn) == (0, -imports.BULK_CACHE_KIB, before[2])
        assert _settings(conn) == before
        with pytest.raises(KeyError), imports.bulk_settings(conn), bulk_insert.sorting_in_threads(conn):
            raise KeyError("the import failed")
        assert _settings(conn) == before
    finally:
        conn.close()
