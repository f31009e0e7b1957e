# ruff: noqa: E501 - rows of CSV exports read best on one line each
"""A big first import is read in two halves, the second by a second process (ingest/worker.py,
ingest/split.py). Whether the file is read in one part or two, the database, the report and the
errors must be the same."""

from __future__ import annotations

import csv
import io
import os
import pickle
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

import privdom
from import_helpers import BRAND_ORDERS, rows, write
from privdom.errors import PrivdomError
from privdom.ingest import decode, loader, reader, records, split, worker
from privdom.store import schema, scratch

# More records than two batches, so each half has several; the odd ones cover every kind of record
# the reading counts or rejects, and cells that become NULL.
RECORDS = 41_234
assert RECORDS > 2 * records.DIRECT_BATCH


def _members_file(path: Path) -> Path:
    lines = ["会员卡号,客户名称,手机号,注册时间,累计消费金额,生日,标签,备注"]
    for i in range(RECORDS):
        if i % 5000 == 17:
            lines.append("")  # blank
        elif i % 7000 == 3:
            lines.append("会员卡号,客户名称,手机号,注册时间,累计消费金额,生日,标签,备注")  # repeated header
        elif i % 9000 == 5:
            lines.append(f"X{i},too,few")  # field count
        elif i % 11000 == 7:
            lines.append(f",无号{i},138****1234,2024-01-01,1,,,")  # masked phone as the identity
        elif i % 3000 == 11:
            lines.append(f"M{i // 2:06d},重复{i},,2024-02-01,,,新客,")  # repeats an earlier member: merged
        elif i % 4000 == 13:
            lines.append(lines[-1])  # an exact repeat: a duplicate
        else:
            lines.append(f'M{i:06d},名{i},138{i:08d},2024-03-05 14:22,"¥1,{i % 1000:03d}.50",{"abc" if i % 997 == 0 else "1990-05-09"},老客,备注{i % 13}')
    return write(path, lines)


class _Counted(worker.SecondHalf):
    started = 0

    def __init__(self, job: worker.Job, target: worker.Target) -> None:
        type(self).started += 1
        super().__init__(job, target)


def _import(root: Path, kind: str, path: Path, *, use_worker: bool, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Import in one part, or in two halves (and check the second half did run in a worker)."""
    monkeypatch.setattr(loader, "worth_a_worker", lambda _path: use_worker)
    monkeypatch.setattr(loader, "SecondHalf", _Counted)
    started = _Counted.started
    root.mkdir(parents=True, exist_ok=True)
    if use_worker:  # as left by an import that was killed: the next one clears it
        (root / ".privdom.db-import-k1ll3d.tmp").write_bytes(b"")
    conn = schema.connect(root / "privdom.db", create=True)
    # One key for every workspace of a test, so that members made from phones get the same ids.
    conn.execute("UPDATE settings SET value = '00' WHERE name = 'phone_key'")
    try:
        report = loader.import_file(conn, kind, path, timezone="Asia/Shanghai", started_at=datetime(2026, 11, 23, 8))
    finally:
        conn.close()
    assert _Counted.started == started + use_worker
    assert _scratch_files(root) == []
    return report.model_dump(exclude={"seconds", "import_id"})


def _scratch_files(root: Path) -> list[Path]:
    return sorted(root.glob(".*-import-*"))


def _dump(db: Path, table: str) -> list[dict[str, Any]]:
    return rows(db, f"SELECT * FROM {table} ORDER BY rowid")


@pytest.mark.parametrize(("kind", "encoding", "newline"), [
    ("members", "utf-8", "\n"), ("orders", "utf-8", "\n"), ("members", "gb18030", "\r\n"), ("orders", "utf-8-sig", "\r\n"),
])
def test_worker_and_single_process_store_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str, encoding: str, newline: str
) -> None:
    members = _recode(_members_file(tmp_path / "members.csv"), encoding, newline)
    orders = _recode(write(tmp_path / "orders.csv", [BRAND_ORDERS] + [
        f"O{i:07d},{'' if i % 10 == 0 else f'M{i // 3:06d}'},138{i // 3:08d},2024-03-0{i % 9 + 1} 10:00:00,{i % 500}.5,{'已退款' if i % 17 == 0 else '已完成'},店{i % 7},,"
        + ("\nO0000005,M000001,,2024-03-01 10:00:00,1,已完成,,," if i == 30_000 else "")  # a repeated order id, far from the first
        for i in range(RECORDS)
    ]), encoding, newline)
    results = []
    for use_worker in (False, True):
        root = tmp_path / ("worker" if use_worker else "single")
        if kind == "orders":  # the members go in first, the same way, so the orders find them
            _import(root, "members", members, use_worker=False, monkeypatch=monkeypatch)
        report = _import(root, kind, members if kind == "members" else orders, use_worker=use_worker, monkeypatch=monkeypatch)
        db = root / "privdom.db"
        results.append((report, _dump(db, "members"), _dump(db, "orders"), _dump(db, "rejects")))
    assert results[0] == results[1]
    report = results[0][0]
    assert report["inserted"] > RECORDS * 0.9
    if kind == "members":
        assert report["blank"] and report["repeated_headers"] and report["merged"] and report["duplicates"]
        assert report["rejected_by_reason"] == {"field_count": 5, "masked_phone": 4}
        assert report["nulled_by_column"] == {"生日": 42}
    else:
        assert report["merged"] == 1 and report["members_created"] > 0


def test_an_item_line_order_rejected_in_one_half_is_rejected_in_the_other(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Item lines of one order at both ends of a big file: the line rejected by the worker (second
    half) rejects the order's line read by this process (first half), as it does in one part."""
    lines = ["订单号,会员卡号,支付时间,商品名称,商品实付金额,订单状态", "X1,M1,2026-11-20 10:00:00,猫粮,10.00,已完成"]
    lines += [f"O{i:07d},M{i % 997:06d},2026-11-20 10:00:00,猫粮,{i % 50 + 1}.00,已完成" for i in range(RECORDS)]
    lines += ["X1,M1,2026-11-20 10:00:00,猫砂,#N/A,已完成"]
    path = write(tmp_path / "items.csv", lines)
    results = []
    for use_worker in (False, True):
        root = tmp_path / ("worker" if use_worker else "single")
        report = _import(root, "orders", path, use_worker=use_worker, monkeypatch=monkeypatch)
        db = root / "privdom.db"
        results.append((report, _dump(db, "orders"), _dump(db, "rejects")))
        assert rows(db, "SELECT count(*) AS n FROM orders WHERE order_id = 'X1'") == [{"n": 0}]
    assert results[0] == results[1]
    assert results[0][0]["rejected_by_reason"] == {"invalid_amount": 1, "order_line_rejected": 1}
    assert results[0][0]["inserted"] == RECORDS


def _recode(path: Path, encoding: str, newline: str) -> Path:
    path.write_bytes(path.read_text(encoding="utf-8").replace("\n", newline).encode(encoding))
    return path


def test_quoted_cells_across_the_middle_and_a_stray_quote(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A note of many quoted lines (with commas and quotes) spans the middle, so the first cut the
    newlines offer falls inside it; then a stray quote in an unquoted cell misleads the count of
    quotes, the first half ends inside a quoted cell, and the file is read again in one part."""
    lines = ["会员卡号,客户名称,手机号,备注"]
    note = "\n".join(f'第{k}行, 有逗号 ""引号""' for k in range(40))  # within quotes.MAX_LINES
    lines += [f"M{i:06d},名{i},138{i:08d},备注{i}" for i in range(RECORDS)]
    sizes = [len(line.encode()) + 1 for line in lines]
    middle = next(i for i in range(len(lines)) if sum(sizes[: i + 1]) > sum(sizes) // 2)
    lines[middle] = lines[middle].rsplit(",", 1)[0] + f',"{note}"'  # the middle stays inside the note
    clean = write(tmp_path / "quoted.csv", lines)
    first, second = split.halves(clean, "utf-8") or pytest.fail("no cut found")
    data = clean.read_bytes()
    assert data[second.start:].startswith(b"M") and data[: second.start].count(b'"') % 2 == 0
    assert second.start > data.index(b"\n", len(data) // 2) + 1  # the first newline was inside a note
    assert second.first_line == data[: second.start].count(b"\n") + 1
    assert first == reader.Part(0, second.start)
    # A lone quote inside an unquoted cell early in the file makes the count odd everywhere after it.
    stray = write(tmp_path / "stray.csv", lines[:10] + ['M900000,名"引号,13800000000,备注'] + lines[10:])
    misread = []
    real = loader._import

    def spy(*args: Any, may_split: bool) -> Any:
        try:
            return real(*args, may_split=may_split)
        except reader.SplitMisread:
            misread.append(may_split)
            raise

    monkeypatch.setattr(loader, "_import", spy)
    for path in (clean, stray):
        results = []
        for use_worker in (False, True):
            root = tmp_path / f"{path.stem}-{use_worker}"
            report = _import(root, "members", path, use_worker=use_worker, monkeypatch=monkeypatch)
            results.append((report, _dump(root / "privdom.db", "members")))
        assert results[0] == results[1]
        assert results[0][0]["inserted"] == len(lines) - (path == clean) and results[0][0]["rejected"] == 0
        notes = [r["extra"] for r in results[0][1] if "第39行" in (r["extra"] or "")]
        assert len(notes) == 1 and '第1行, 有逗号 \\"引号\\"\\n' in notes[0]
    assert misread == [True]  # only the stray quote's file, once, and the one-part reading then worked


def test_a_dry_run_in_two_halves_counts_the_same_and_writes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _members_file(tmp_path / "members.csv")
    monkeypatch.setattr(loader, "SecondHalf", _Counted)
    reports = []
    for use_worker in (False, True):
        monkeypatch.setattr(loader, "worth_a_worker", lambda _path, w=use_worker: w)
        started = _Counted.started
        db = tmp_path / f"{use_worker}.db"
        conn = schema.connect(db, create=True)
        try:
            report = loader.import_file(conn, "members", path, timezone="Asia/Shanghai",
                                        started_at=datetime(2026, 11, 23), dry_run=True)
        finally:
            conn.close()
        assert _Counted.started == started + use_worker
        assert rows(db, "SELECT count(*) AS n FROM members") == [{"n": 0}] and _dump(db, "imports") == []
        assert _scratch_files(tmp_path) == []
        reports.append(report.model_dump(exclude={"seconds"}))
    assert reports[0] == reports[1] and reports[0]["dry_run"] and reports[0]["inserted"] > RECORDS * 0.9


def test_the_workers_progress_reaches_the_bar(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _members_file(tmp_path / "members.csv")
    seen: list[tuple[int, int]] = []
    monkeypatch.setattr(loader, "worth_a_worker", lambda _path: True)
    conn = schema.connect(tmp_path / "privdom.db", create=True)
    try:
        loader.import_file(conn, "members", path, timezone="Asia/Shanghai", started_at=datetime(2026, 11, 23),
                           progress=lambda done, total: seen.append((done, total)))
    finally:
        conn.close()
    size = path.stat().st_size
    assert len(seen) >= 3 and all(total == size for _done, total in seen)
    assert [done for done, _total in seen] == sorted(done for done, _total in seen)
    assert seen[-1][0] == size


@pytest.mark.parametrize("before", ["M005000", "M030000"])  # in the first half; in the second
def test_a_bad_byte_in_either_half_is_the_same_error_and_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, before: str
) -> None:
    path = _members_file(tmp_path / "members.csv")
    data = path.read_bytes()
    cut = data.index(f"\n{before},".encode())
    path.write_bytes(data[:cut] + b"\nM999999,\xff\xfe\xfd,,,,,," + data[cut:])
    bad_line = data[:cut].count(b"\n") + 2
    messages = []
    for use_worker in (False, True):
        db = tmp_path / f"{use_worker}.db"
        monkeypatch.setattr(loader, "worth_a_worker", lambda _path, w=use_worker: w)
        conn = schema.connect(db, create=True)
        before = _dump(db, "members"), _dump(db, "imports")
        with pytest.raises(PrivdomError) as caught:  # named: detection would read the bad bytes up front
            loader.import_file(conn, "members", path, timezone="Asia/Shanghai", started_at=datetime(2026, 11, 23),
                               encoding="utf-8")
        assert (_dump(db, "members"), _dump(db, "imports")) == before
        indexes = [r["name"] for r in rows(db, "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'members' AND sql IS NOT NULL ORDER BY 1")]
        # the dropped ones are back
        assert indexes == ["members_external", "members_joined", "members_key", "members_last_order", "members_phone"]
        conn.close()
        messages.append((caught.value.message, caught.value.hint))
    assert messages[0] == messages[1]
    assert messages[0][0] == f"{path}:{bad_line}: not utf-8 text (invalid start byte)"
    assert _scratch_files(tmp_path) == []


def _children(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.add(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"  # a zombie has ended
    except OSError:
        return False


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="finds the worker process through /proc")
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL])
def test_a_killed_import_stops_its_worker_and_writes_nothing(workspace: Path, sig: signal.Signals) -> None:
    big = workspace / "big.csv"
    with big.open("w", encoding="utf-8") as f:  # bigger than WORKER_MIN_BYTES: a real CLI run uses the worker
        f.write("会员卡号,姓名,手机号,注册时间,累计消费金额,备注\n")
        line = 0
        while f.tell() < worker.WORKER_MIN_BYTES * 1.3:
            f.writelines(f'{line + i:07d},新名{i},138{i:08d},2024/3/5 14:22,"¥1,234.50",{"备注" * 20}\n' for i in range(10_000))
            line += 10_000
    env = {**os.environ, "PYTHONPATH": str(Path(privdom.__file__).parent.parent)}
    proc = subprocess.Popen([sys.executable, "-m", "privdom", "import", "members", str(big)], cwd=workspace, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 30
    readers: set[int] = set()
    while time.monotonic() < deadline and proc.poll() is None and not readers:
        readers = {p for p in _children(proc.pid) if b"privdom.ingest.worker" in Path(f"/proc/{p}/cmdline").read_bytes()}
        time.sleep(0.05)
    assert readers and proc.poll() is None, "the import finished, or never started its worker"
    time.sleep(0.5)  # let records flow
    proc.send_signal(sig)
    _out, err = proc.communicate(timeout=60)
    if sig == signal.SIGINT:
        assert proc.returncode == 130, err.decode()
        assert err.decode().strip().splitlines()[-1] == "interrupted: nothing was written"
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and any(map(_alive, readers)):
        time.sleep(0.05)
    assert not any(map(_alive, readers)), "the reading process outlived the import"
    assert _scratch_files(workspace) == []
    conn = sqlite3.connect(workspace / "privdom.db")
    try:
        assert conn.execute("SELECT count(*) FROM members").fetchone()[0] == 0
        assert conn.execute("SELECT count(*) FROM imports").fetchone()[0] == 0
    finally:
        conn.close()


@pytest.mark.parametrize(("encoding", "newline", "cut"), [
    ("utf-8", "\n", True), ("gb18030", "\r\n", True), ("utf-8", "\r", False), ("utf-16", "\n", False),
])
def test_where_a_file_can_be_cut(tmp_path: Path, encoding: str, newline: str, cut: bool) -> None:
    """A cut needs a newline byte that is always a newline: not in UTF-16, and not in a file whose
    lines end with a lone carriage return (the byte after it is never \\n)."""
    lines = ["会员卡号,客户名称"] + [f"M{i:06d},名{i}" for i in range(5000)]
    path = tmp_path / "m.csv"
    path.write_bytes(newline.join(lines).encode(encoding))
    parts = split.halves(path, encoding)
    assert (parts is not None) == cut
    if parts is not None:
        first, second = parts
        data = path.read_bytes()
        record = data[second.start:].split(newline.encode(), 1)[0].decode(encoding)
        assert first.end == second.start and lines.index(record) + 1 == second.first_line


def test_a_script_without_a_main_guard_is_not_run_again_by_the_worker(tmp_path: Path) -> None:
    """A script calling import_file at its top level (no `if __name__ == "__main__":`) runs once:
    the worker is a fresh interpreter that imports privdom, not the script."""
    big = write(tmp_path / "big.csv", ["会员卡号,姓名,手机号,备注"] + [
        f"{i:07d},名{i},138{i:08d},{'备注' * 40}" for i in range(int(worker.WORKER_MIN_BYTES * 1.2) // 140)
    ])
    assert big.stat().st_size >= worker.WORKER_MIN_BYTES
    script = tmp_path / "nightly.py"
    script.write_text(
        "from datetime import datetime\n"
        "from pathlib import Path\n"
        "from privdom.ingest import loader\n"
        "from privdom.store import schema\n"
        f"here = Path({str(tmp_path)!r})\n"
        "with (here / 'runs.log').open('a') as log:\n"
        "    log.write('ran\\n')\n"
        "conn = schema.connect(here / 'privdom.db', create=True)\n"
        "report = loader.import_file(conn, 'members', here / 'big.csv', timezone='Asia/Shanghai',\n"
        "                            started_at=datetime(2026, 11, 23))\n"
        "conn.close()\n"
        "print(report.inserted)\n",
        encoding="utf-8",
    )
    env = {**os.environ, "PYTHONPATH": str(Path(privdom.__file__).parent.parent)}
    done = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert int(done.stdout) == sum(1 for _ in big.open(encoding="utf-8")) - 1
    assert (tmp_path / "runs.log").read_text() == "ran\n"


def test_physical_lines_are_counted_as_the_csv_reader_counts_them_across_any_chunk_boundary() -> None:
    """The cut's line numbers (split) and a bad byte's line (reader) count lines by bytes; a \\r\\n
    falling across two chunks is still one line end, and a lone \\r is one as well."""
    data = "会员卡号,备注\r\nM1,一\r\nM2,二\rM3,三\nM4,\"四\r\n续\"\r\n\r\nM5,五".encode("gb18030")
    reader = csv.reader(io.StringIO(data.decode("gb18030"), newline=""))
    for _ in reader:
        pass
    for cut in range(len(data) + 1):
        count = decode.LineCount()
        count.add(data[:cut])
        count.add(data[cut:])
        assert count.lines + 1 == reader.line_num, cut  # the last line has no line end


def test_a_full_disk_in_the_second_half_is_reported_as_the_operators_to_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The worker's scratch file meets SQLITE_FULL: the import gets an error with a hint, not a crash."""
    path = _members_file(tmp_path / "members.csv")
    cut = split.halves(path, "utf-8")
    assert cut is not None
    workspace = tmp_path / "privdom.db"
    conn = schema.connect(workspace, create=True)
    create_table = scratch.table_sql(conn, "members")
    conn.close()
    real = scratch.open_for_writing

    def small(*args: Any) -> sqlite3.Connection:
        db = real(*args)
        db.execute("PRAGMA max_page_count = 8")  # SQLite then answers as for a full disk
        return db

    monkeypatch.setattr(worker.scratch, "open_for_writing", small)
    channel = io.BytesIO()
    job = worker.Job("members", path, "utf-8", "generic", None, "Asia/Shanghai", b"\x00")
    worker._work(channel, job, worker.Target(cut[1], tmp_path / "half.db", workspace, create_table), os.getppid())
    data = channel.getvalue()
    messages = []
    while data:
        size = int.from_bytes(data[:4], "big")
        messages.append(pickle.loads(data[4 : 4 + size]))
        data = data[4 + size :]
    what, message, hint = messages[-1]
    assert what == "error"
    assert message.startswith(f"no space left on the disk for the import's scratch file beside {workspace}")
    assert hint.startswith("free some space")


def test_the_scratch_file_is_written_once_with_the_workspaces_page_size_and_no_journal(tmp_path: Path) -> None:
    workspace = tmp_path / "privdom.db"
    conn = schema.connect(workspace, create=True)
    create_table = scratch.table_sql(conn, "members")
    conn.close()
    db = scratch.open_for_writing(tmp_path / "half.db", "members", create_table, workspace)
    try:
        assert db.execute("PRAGMA page_size").fetchone()[0] == schema.PAGE_SIZE
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "off"
        assert db.execute("PRAGMA synchronous").fetchone()[0] == 0
    finally:
        db.close()
