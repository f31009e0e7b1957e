"""The import's sha256 is taken in a thread beside the header and the cut (ingest/hashing.py): the
report carries the file's true digest, a failing import leaves no thread behind, and the cut of a
big file is only looked for when the table is empty (a re-import or a later file never scans)."""

from __future__ import annotations

import hashlib
import threading
from datetime import datetime
from pathlib import Path

import pytest

from import_helpers import write
from privdom.errors import PrivdomError
from privdom.ingest import hashing, loader, split
from privdom.store import schema


def _import(db: Path, kind: str, path: Path) -> loader.ImportReport:
    conn = schema.connect(db, create=True)
    try:
        return loader.import_file(conn, kind, path, timezone="Asia/Shanghai", started_at=datetime(2026, 11, 23, 8))
    finally:
        conn.close()


def _hashing_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "privdom-sha256"]


def test_the_report_carries_the_files_sha256_and_a_second_import_knows_it(tmp_path: Path) -> None:
    lines = [f"M{i},名{i},138{i:08d}" for i in range(3000)]
    path = write(tmp_path / "members.csv", ["会员卡号,客户名称,手机号", *lines])
    first = _import(tmp_path / "privdom.db", "members", path)
    assert first.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    again = _import(tmp_path / "privdom.db", "members", path)
    assert again.already_imported and again.sha256 == first.sha256
    assert _hashing_threads() == []


@pytest.mark.parametrize("header", ["客户名称,备注", ""])
def test_a_failed_import_leaves_no_hashing_thread(tmp_path: Path, header: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A header with no identity column, and an empty file: whole-file errors, raised before the
    digest is asked for; the thread is stopped, not left reading (this hash reads until stopped)."""

    def endless(_path: Path, stop: threading.Event | None = None) -> str:
        assert stop is not None and stop.wait(timeout=30)
        return ""

    monkeypatch.setattr(hashing, "file_sha256", endless)
    path = write(tmp_path / "members.csv", [header] + [f"名{i},x" for i in range(50_000)] if header else [])
    with pytest.raises(PrivdomError):
        _import(tmp_path / "privdom.db", "members", path)
    assert _hashing_threads() == []


def test_an_error_reading_the_file_reaches_the_caller(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        hashing.Hashing(tmp_path / "gone.csv").digest()


def test_a_stopped_hash_ends_without_a_digest(tmp_path: Path) -> None:
    path = tmp_path / "big.bin"
    path.write_bytes(b"x" * (3 << 20))
    stop = threading.Event()
    stop.set()
    assert hashing.file_sha256(path, stop) == ""
    assert hashing.file_sha256(path) == hashlib.sha256(path.read_bytes()).hexdigest()


def test_the_cut_is_only_looked_for_when_the_table_is_empty(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(loader, "worth_a_worker", lambda _path: True)
    scans: list[Path] = []
    real = split.halves

    def counted(path: Path, codec: str) -> object:
        scans.append(path)
        return real(path, codec)

    monkeypatch.setattr(split, "halves", counted)
    header = "会员卡号,客户名称,手机号"
    first = write(tmp_path / "a.csv", [header] + [f"M{i},名{i},138{i:08d}" for i in range(30_000)])
    later = write(tmp_path / "b.csv", [header] + [f"N{i},名{i},139{i:08d}" for i in range(30_000)])
    assert _import(tmp_path / "privdom.db", "members", first).inserted == 30_000
    assert scans == [first]  # the first import of an empty table is cut in two
    assert _import(tmp_path / "privdom.db", "members", later).inserted == 30_000
    assert scans == [first]  # the table has rows: the staged path, no scan for a cut
