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


def test_reads_are_mapped_only_inside_the_block(tmp_path: Path) -> None:
    conn = schema.connect(tmp_path / "privdom.db", create=True)
    try:
        before = int(conn.execute("PRAGMA mmap_size").fetchone()[0])
        with schema.mapped_reads(conn):
            assert int(conn.execute("PRAGMA mmap_size").fetchone()[0]) == schema.MAPPED_READ_BYTES
            assert conn.execute("SELECT count(*) FROM members").fetchone()[0] == 0
        assert int(conn.execute("PRAGMA mmap_size").fetchone()[0]) == before
    finally:
        conn.close()


def test_a_setting_this_sqlite_lacks_is_left_alone(tmp_path: Path) -> None:
    """SQLite answers an unknown PRAGMA (or one compiled out, like mmap_size in some builds) with no
    row: the block still runs, and nothing is set or restored for it."""
    conn = schema.connect(tmp_path / "privdom.db", create=True)
    try:
        with schema.pragmas(conn, {"no_such_setting": 1, "threads": 2}):
            assert int(conn.execute("PRAGMA threads").fetchone()[0]) == 2
        assert int(conn.execute("PRAGMA threads").fetchone()[0]) == 0
    finally:
        conn.close()
