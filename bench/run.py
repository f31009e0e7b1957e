"""Benchmark privdom on a generated brand of N members (default 1,000,000, about 4.6 orders each).

    python bench/run.py [--members N] [--keep DIR] [--json FILE]

Each step runs as its own child process (`python -m privdom ...` with PRIVDOM_DB/PRIVDOM_SOPS set) and
is measured from outside: wall seconds, and the child's peak resident memory from `os.wait4`. The same
member and order files are loaded with the `sqlite3` binary's `.import` in the same run, as the yardstick
for import speed. A step that fails (for example a command that does not exist yet) is reported with its
error; the benchmark itself carries on. Standard library only, runs from a clean clone.
"""

from __future__ import annotations

import argparse
import codecs
import compileall
import csv
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
GENERATOR = ROOT / "examples" / "generate.py"
PLAN_DATE = "2026-11-23"
# The morning after: the first command of a new date finds no metrics snapshot for it and builds one.
NEXT_DAY = "2026-11-24"
# The operator's morning (the README's cron): the orders paid on NEXT_DAY by MORNING_SHARE of the
# members are imported, then the plan of MORNING is made.
MORNING = "2026-11-25"
FAR_DAY = "2027-01-22"
MORNING_SHARE = 0.0075
# A bare aggregate over the workspace's orders, the yardstick of the morning: one pass of SQLite
# over the order history, with nothing written.
GROUP_BY = ("SELECT member_id, count(*), sum(amount_fen), min(paid_at), max(paid_at) "
            "FROM orders GROUP BY member_id")
# The narrow pair: a members export of 8 columns and an orders export of 4, cut from the generated
# files (the first import's target must hold on files with little to validate per row too).
NARROW_MEMBERS = ["会员卡号", "客户名称", "昵称", "手机号", "性别", "生日", "注册时间", "添加人"]
NARROW_ORDERS = ["会员卡号", "支付时间", "实付金额", "订单号"]

# SPEC §6 targets, on a 2-core machine at 1,000,000 members.
TARGET_IMPORT_RATIO = 2.5
TARGET_PLAN_SECONDS = 3.0
TARGET_IMPORT_RSS_MB = 300.0
# Issue 18's targets for the morning (import of the day + the first plan of the next date).
TARGET_MORNING_VS_GROUP_BY = 1.5
TARGET_MORNING_SECONDS_200K = 1.0
TARGET_TERMINAL_VS_JSON = 2.0
TARGET_MORNING_RSS_MB = 150.0

# (step name, file kind, import KIND) in load order; the file kinds are the generator's.
IMPORTS = [
    ("import members", "members", "members"),
    ("import orders", "orders", "orders"),
    ("import groups", "groups", "groups"),
    ("import group-members", "group_members", "group-members"),
    ("import activity", "activity", "activity"),
]


@dataclass
class Step:
    name: str
    command: str
    status: str = "ok"  # ok | failed | skipped
    seconds: float | None = None
    peak_rss_mb: float | None = None
    rows: int | None = None
    rows_per_s: float | None = None
    vs_sqlite3: float | None = None
    error: str = ""
    report: Any = None


@dataclass
class Run:
    members: int
    seed: int
    plan_date: str
    machine: dict[str, Any]
    sqlite3: dict[str, Any] = field(default_factory=dict)
    steps: list[Step] = field(default_factory=list)
    targets: dict[str, Any] = field(default_factory=dict)


def _rss_mb(rusage: Any) -> float:
    # ru_maxrss is kilobytes on Linux and bytes on macOS.
    scale = 1 if sys.platform == "darwin" else 1024
    return round(float(rusage.ru_maxrss) * scale / 1_048_576, 1)


def _tree_rss_mb(pid: int) -> float:
    """Resident memory of a process and all its descendants together, from /proc (Linux); 0 elsewhere.

    A big import reads its file in a second process: ru_maxrss gives only the largest single
    process, and the step's memory is what both hold at once."""
    total_kb, todo = 0, [pid]
    while todo:
        current = todo.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                total_kb += int(line.split()[1])
        todo += [int(c) for c in children]
    return round(total_kb / 1024, 1)


def _terminal() -> tuple[int, int, threading.Thread]:
    """A pseudo-terminal of 120 x 40 for a child's output, and a thread that reads and drops what it
    shows (as a terminal would); returns (the child's end, ours, the thread)."""
    import fcntl
    import pty
    import struct
    import termios

    ours, theirs = pty.openpty()
    fcntl.ioctl(theirs, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))

    def drain() -> None:
        try:
            while os.read(ours, 1 << 16):
                pass
        except OSError:  # the child's end closed
            pass

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    return theirs, ours, reader


def measure(name: str, argv: list[str], *, env: dict[str, str] | None = None, cwd: Path | None = None,
            stdout_path: Path | None = None, rows: int | None = None, timeout: float = 7200,
            terminal: bool = False) -> Step:
    """Run one child process; its wall time and its peak RSS (its own, or with its own children
    together when that is more: not ours, not its siblings'). `terminal`: its output goes to a
    pseudo-terminal, as an operator's shell shows it."""
    step = Step(name=name, command=" ".join(argv))
    pty_ends = _terminal() if terminal else None
    out: Any = open(stdout_path, "wb") if stdout_path else subprocess.DEVNULL  # noqa: SIM115
    if pty_ends is not None:
        out = pty_ends[0]
    err_file = tempfile.TemporaryFile()
    # Untimed: the OS writes out what earlier steps left in its cache, so that no step waits on
    # the disk for another's pages (neither sqlite3 here nor privdom's import syncs its own).
    if hasattr(os, "sync"):
        os.sync()
    began = time.perf_counter()
    try:
        proc = subprocess.Popen(argv, env=env, cwd=cwd, stdout=out, stderr=err_file)
    except OSError as exc:
        step.status, step.error = "failed", str(exc)
        return step
    deadline = began + timeout
    tree_peak, sampled = 0.0, 0.0
    while True:
        pid, status, rusage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if time.perf_counter() - sampled > 0.05:
            tree_peak, sampled = max(tree_peak, _tree_rss_mb(proc.pid)), time.perf_counter()
        if time.perf_counter() > deadline:
            proc.kill()
            pid, status, rusage = os.wait4(proc.pid, 0)
            step.error = f"killed after {timeout:.0f} s"
            break
        time.sleep(0.005)
    step.seconds = round(time.perf_counter() - began, 3)
    proc.returncode = os.waitstatus_to_exitcode(status)  # so Popen does not wait again
    if stdout_path:
        out.close()
    if pty_ends is not None:
        os.close(pty_ends[0])
        pty_ends[2].join(timeout=5)
        os.close(pty_ends[1])
    step.peak_rss_mb = max(_rss_mb(rusage), tree_peak)
    err_file.seek(0)
    stderr = err_file.read().decode("utf-8", "replace").strip()
    err_file.close()
    if proc.returncode != 0:
        lines = [line.strip() for line in stderr.splitlines() if line.strip()]
        # The error line says what went wrong; click's usage banner around it does not.
        flagged = [line for line in lines if line.lower().startswith(("error", "internal error", "hint"))]
        step.status = "failed"
        step.error = (step.error or f"exit {proc.returncode}: " + " | ".join((flagged or lines)[-3:]))[:300]
    elif rows is not None and step.seconds:
        step.rows, step.rows_per_s = rows, round(rows / step.seconds)
    return step


def count_records(path: Path, encoding: str) -> int:
    """CSV records after the header (quoted newlines count once), streamed."""
    with open(path, encoding=encoding, newline="") as fh:
        return sum(1 for _ in csv.reader(fh)) - 1


def to_utf8(source: Path, target: Path, encoding: str) -> None:
    """Re-encode in chunks: sqlite3's .import reads UTF-8 only."""
    decoder = codecs.getincrementaldecoder(encoding)()
    with open(source, "rb") as src, open(target, "w", encoding="utf-8", newline="") as dst:
        while chunk := src.read(1 << 20):
            dst.write(decoder.decode(chunk))
        dst.write(decoder.decode(b"", final=True))


def sqlite3_reference(binary: str, data: Path, files: dict[str, Path], rows: dict[str, int],
                      run: Run) -> dict[str, Step]:
    """Load the same files with `.import --csv --skip 1` into TEXT tables: a parse-and-insert floor.

    With `synchronous = OFF`, as privdom's import runs inside its transaction: neither waits for the
    disk, so the ratio compares the work of the two and not when each leaves its pages to the OS
    (with its default, sqlite3 also waits about 1 s at 1M orders for its file to reach the disk).
    """
    import generate  # the module loaded from examples/ in main()

    version = subprocess.run([binary, "--version"], capture_output=True, text=True).stdout.split(" ")[0]
    run.sqlite3 = {"binary": binary, "version": version,
                   "note": "members.csv is re-encoded GB18030 -> UTF-8 before timing (sqlite3 reads UTF-8 "
                           "only); orders.csv keeps its BOM, which sits in the skipped header line; "
                           "PRAGMA synchronous = OFF, as in privdom's import"}
    db = data / "sqlite3-reference.db"
    db.unlink(missing_ok=True)
    headers = {"members": generate.MEMBERS_HEADER, "orders": generate.ORDERS_HEADER,
               "groups": generate.GROUPS_HEADER, "group_members": generate.GROUP_MEMBERS_HEADER,
               "activity": generate.ACTIVITY_HEADER}
    ddl = ";".join(f'CREATE TABLE "{kind}" ({", ".join(f"c{i} TEXT" for i in range(len(cols)))})'
                   for kind, cols in headers.items())
    subprocess.run([binary, str(db), ddl], check=True)
    members_utf8 = data / "members.utf8.csv"
    to_utf8(files["members"], members_utf8, "gb18030")
    results: dict[str, Step] = {}
    for kind in headers:
        path = members_utf8 if kind == "members" else files[kind]
        step = measure(f"sqlite3 .import {kind}",
                       [binary, "-cmd", "PRAGMA synchronous = OFF", str(db),
                        f".import --csv --skip 1 {path} {kind}"], rows=rows[kind])
        results[kind] = step
        run.steps.append(step)
    members_utf8.unlink()
    return results


def write_day_orders(members_csv: Path, target: Path, day: str, share: float) -> int:
    """One day's orders, paid on `day` by every n-th member (`share` of them), in the generator's
    orders layout; returns how many."""
    import generate  # the module loaded from examples/ in main()

    every = max(1, round(1 / share))
    written = 0
    with open(members_csv, encoding="gb18030", newline="") as src, \
            open(target, "w", encoding="utf-8", newline="") as dst:
        reader = csv.reader(src)
        next(reader)
        out = csv.writer(dst)
        out.writerow(generate.ORDERS_HEADER)
        for i, row in enumerate(reader):
            if i % every:
                continue
            written += 1
            second = 8 * 3600 + (written * 7919) % (14 * 3600)  # 08:00 to 22:00
            paid = f"{day} {second // 3600:02d}:{second % 3600 // 60:02d}:{second % 60:02d}"
            out.writerow([f"TTDAY{day.replace('-', '')}{written:08d}", row[0], "", paid,
                          f"{(written * 37) % 120 + 18}.00", "已完成", "茶语·五角场店", "小程序", "桂花乌龙x1"])
    return written


def first_member(day_orders: Path) -> str:
    """The member of the first of the day's orders (`write_day_orders`): one who just ordered."""
    with open(day_orders, encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh)
        next(reader)
        return next(reader)[1]


def write_narrow(files: dict[str, Path], folder: Path) -> dict[str, Path]:
    """The narrow pair, in UTF-8: NARROW_MEMBERS of the members file and NARROW_ORDERS of the orders."""
    import generate  # the module loaded from examples/ in main()

    folder.mkdir(parents=True, exist_ok=True)
    made = {}
    for kind, header, wanted, encoding in (
            ("members", generate.MEMBERS_HEADER, NARROW_MEMBERS, "gb18030"),
            ("orders", generate.ORDERS_HEADER, NARROW_ORDERS, "utf-8-sig")):
        picks = [header.index(name) for name in wanted]
        made[kind] = folder / f"narrow-{kind}.csv"
        with open(files[kind], encoding=encoding, newline="") as src, \
                open(made[kind], "w", encoding="utf-8", newline="") as dst:
            out = csv.writer(dst)
            for row in csv.reader(src):
                out.writerow([row[i] for i in picks])
    return made


def privdom_env(work: Path) -> dict[str, str]:
    env = dict(os.environ, PRIVDOM_DB=str(work / "privdom.db"), PRIVDOM_SOPS=str(work / "sops"),
               PRIVDOM_LOG_DIR=str(work / "logs"))
    if (ROOT / "src" / "privdom").is_dir():  # a clean clone runs without installing
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "src"), env.get("PYTHONPATH")]))
        # An installed privdom comes byte-compiled (pip compiles what it installs). From a clone,
        # under PYTHONDONTWRITEBYTECODE every step would compile privdom's modules again, about
        # 0.2 s a command that no installed user pays, so they are compiled once, untimed.
        compileall.compile_dir(ROOT / "src" / "privdom", quiet=1)
    return env


def privdom_steps(work: Path, files: dict[str, Path], rows: dict[str, int], reference: dict[str, Step],
                  run: Run, timeout: float, binary: str | None) -> None:
    env = privdom_env(work)
    privdom = [sys.executable, "-m", "privdom"]

    def step(name: str, args: list[str], *, rows_: int | None = None, keep_stdout: bool = False,
             terminal: bool = False, program: list[str] = privdom) -> Step:
        out = work / f"{name.replace(' ', '_').replace(':', '')}.out" if keep_stdout else None
        result = measure(name, program + args, env=env, cwd=work, stdout_path=out, rows=rows_,
                         timeout=timeout, terminal=terminal)
        if out is not None and result.status == "ok":
            try:
                result.report = json.loads(out.read_text(encoding="utf-8"))
            except (ValueError, OSError):
                pass
        run.steps.append(result)
        return result

    init = step("init", ["init"])
    if init.status != "ok":
        for name, _kind, _ in IMPORTS:
            run.steps.append(Step(name, "", status="skipped", error="init failed"))
        return
    imported: dict[str, Step] = {}
    for name, kind, import_kind in IMPORTS:
        result = step(name, ["import", import_kind, str(files[kind]), "--format", "json"],
                      rows_=rows[kind], keep_stdout=True)
        ref = reference.get(kind)
        if result.status == "ok" and ref and ref.status == "ok" and ref.seconds:
            result.vs_sqlite3 = round((result.seconds or 0) / ref.seconds, 2)
        imported[kind] = result
    step("members csv", ["members", "--date", PLAN_DATE, "--format", "csv"])
    step("segments", ["segments", "--date", PLAN_DATE])
    step("tiers", ["tiers", "--date", PLAN_DATE])
    step("plan", ["plan", "--no-save", "--date", PLAN_DATE, "--format", "json"])
    step("plan, next day (patches the metrics)", ["plan", "--no-save", "--date", NEXT_DAY, "--format", "json"])
    # Too far from any snapshot to patch: the full build, the reference's cost, in the same run.
    step("plan, 60 days on (full metrics build)", ["plan", "--no-save", "--date", FAR_DAY, "--format", "json"])
    # The morning: the night's orders are imported, then the first plan of the new date patches
    # the latest snapshot (store/metrics_patch.py) instead of computing every member.
    day_file = work / "day-orders.csv"
    day_rows = write_day_orders(files["members"], day_file, NEXT_DAY, MORNING_SHARE)
    step("morning: import the day's orders", ["import", "orders", str(day_file), "--format", "json"],
         rows_=day_rows, keep_stdout=True)
    plan_args = ["plan", "--no-save", "--date", MORNING]
    step("morning: first plan of the next date", [*plan_args, "--format", "json"])
    step("plan again (snapshot ready)", [*plan_args, "--format", "json"])
    step("plan as a table in a terminal", plan_args, terminal=True)
    # An operator's look at one member: the profile and the rules that fire for them in the next
    # 7 days (their own row of each day, ranked against the morning's snapshot).
    step("member ID (profile and the next 7 days)", ["member", first_member(day_file), "--date", MORNING,
                                                     "--format", "json"])
    if binary:
        run.steps.append(measure("sqlite3 GROUP BY over the orders (reference)",
                                 [binary, str(work / "privdom.db"), GROUP_BY], timeout=timeout))
    step("patched snapshot vs full build", ["--date", MORNING], keep_stdout=True,
         program=[sys.executable, str(ROOT / "bench" / "patch_check.py")])
    for kind in ("members", "orders"):
        name = f"re-import {kind} (unchanged)"
        if imported[kind].status != "ok":
            run.steps.append(Step(name, "", status="skipped", error=f"import {kind} failed"))
            continue
        step(name, ["import", kind, str(files[kind]), "--format", "json"], rows_=rows[kind], keep_stdout=True)


def narrow_steps(work: Path, files: dict[str, Path], run: Run, timeout: float, binary: str | None) -> None:
    """The first import of the narrow pair into a workspace of its own, and its sqlite3 reference."""
    narrow = write_narrow(files, work / "narrow-data")
    rows = {kind: count_records(path, "utf-8") for kind, path in narrow.items()}
    if binary:
        db = work / "narrow-reference.db"
        db.unlink(missing_ok=True)
        ddl = ";".join(f'CREATE TABLE "{kind}" ({", ".join(f"c{i} TEXT" for i in range(len(cols)))})'
                       for kind, cols in (("members", NARROW_MEMBERS), ("orders", NARROW_ORDERS)))
        subprocess.run([binary, str(db), ddl], check=True)
        for kind, path in narrow.items():
            run.steps.append(measure(f"sqlite3 .import narrow {kind}",
                                     [binary, "-cmd", "PRAGMA synchronous = OFF", str(db),
                                      f".import --csv --skip 1 {path} {kind}"], rows=rows[kind], timeout=timeout))
    ws = work / "ws-narrow"
    ws.mkdir(exist_ok=True)
    env = privdom_env(ws)
    privdom = [sys.executable, "-m", "privdom"]
    run.steps.append(measure("init (narrow)", [*privdom, "init"], env=env, cwd=ws, timeout=timeout))
    by_name = {s.name: s for s in run.steps}
    for kind, path in narrow.items():
        step = measure(f"import narrow {kind}", [*privdom, "import", kind, str(path), "--format", "json"],
                       env=env, cwd=ws, rows=rows[kind], timeout=timeout)
        ref = by_name.get(f"sqlite3 .import narrow {kind}")
        if step.status == "ok" and ref and ref.status == "ok" and ref.seconds:
            step.vs_sqlite3 = round((step.seconds or 0) / ref.seconds, 2)
        run.steps.append(step)


def _import_ratio(by_name: dict[str, Step], names: list[str], references: list[str]) -> float | None:
    """The imports' seconds over their references' together, when all of them ran."""
    mine, refs = [by_name.get(n) for n in names], [by_name.get(n) for n in references]
    if not all(s and s.status == "ok" and s.seconds for s in mine + refs):
        return None
    return sum(s.seconds or 0 for s in mine if s) / sum(s.seconds or 0 for s in refs if s)


def check_targets(run: Run) -> None:
    by_name = {s.name: s for s in run.steps}
    targets: dict[str, Any] = {"note": "SPEC §6 targets are for 1,000,000 members on a 2-core machine"}
    ratio = _import_ratio(by_name, ["import members", "import orders"],
                          ["sqlite3 .import members", "sqlite3 .import orders"])
    if ratio is not None:
        targets["import_vs_sqlite3"] = {"value": round(ratio, 2), "target": TARGET_IMPORT_RATIO,
                                        "met": ratio <= TARGET_IMPORT_RATIO}
    plan = by_name.get("plan")
    if plan and plan.status == "ok" and plan.seconds is not None:
        targets["plan_seconds"] = {"value": plan.seconds, "target": TARGET_PLAN_SECONDS,
                                   "met": plan.seconds < TARGET_PLAN_SECONDS}
    rss = [s.peak_rss_mb for s in run.steps
           if s.name.startswith("import") and s.status == "ok" and s.peak_rss_mb]
    if rss:
        targets["import_peak_rss_mb"] = {"value": max(rss), "target": TARGET_IMPORT_RSS_MB,
                                         "met": max(rss) < TARGET_IMPORT_RSS_MB}
    morning = [by_name.get("morning: import the day's orders"), by_name.get("morning: first plan of the next date")]
    group_by = by_name.get("sqlite3 GROUP BY over the orders (reference)")
    if all(s and s.status == "ok" and s.seconds for s in morning):
        seconds = round(sum(s.seconds or 0 for s in morning if s), 3)
        targets["morning_seconds"] = seconds
        if group_by and group_by.status == "ok" and group_by.seconds:
            ratio = round(seconds / group_by.seconds, 2)
            targets["morning_vs_group_by"] = {"value": ratio, "target": TARGET_MORNING_VS_GROUP_BY,
                                              "met": ratio < TARGET_MORNING_VS_GROUP_BY}
        if run.members <= 200_000:
            targets["morning_seconds_200k"] = {"value": seconds, "target": TARGET_MORNING_SECONDS_200K,
                                               "met": seconds < TARGET_MORNING_SECONDS_200K}
        peak = max(s.peak_rss_mb or 0 for s in morning if s)
        targets["morning_peak_rss_mb"] = {"value": peak, "target": TARGET_MORNING_RSS_MB,
                                          "met": peak < TARGET_MORNING_RSS_MB}
    terminal, json_plan = by_name.get("plan as a table in a terminal"), by_name.get("plan again (snapshot ready)")
    if terminal and json_plan and terminal.status == json_plan.status == "ok" and json_plan.seconds:
        ratio = round((terminal.seconds or 0) / json_plan.seconds, 2)
        targets["terminal_table_vs_json_plan"] = {"value": ratio, "target": TARGET_TERMINAL_VS_JSON,
                                                  "met": ratio < TARGET_TERMINAL_VS_JSON}
    check = by_name.get("patched snapshot vs full build")
    if check and check.status == "ok" and isinstance(check.report, dict):
        targets["patched_equals_full"] = {"value": check.report.get("differing_rows"), "target": 0,
                                          "met": check.report.get("differing_rows") == 0}
    narrow = ["import narrow members", "import narrow orders"]
    ratio = _import_ratio(by_name, narrow, ["sqlite3 .import narrow members", "sqlite3 .import narrow orders"])
    if ratio is not None:
        targets["narrow_import_vs_sqlite3"] = {"value": round(ratio, 2), "target": TARGET_IMPORT_RATIO,
                                               "met": ratio <= TARGET_IMPORT_RATIO}
        peak = max(by_name[n].peak_rss_mb or 0 for n in narrow)
        targets["narrow_import_peak_rss_mb"] = {"value": peak, "target": TARGET_IMPORT_RSS_MB,
                                                "met": peak < TARGET_IMPORT_RSS_MB}
    run.targets = targets


def print_table(run: Run) -> None:
    cols = ["step", "status", "seconds", "rows", "rows/s", "vs sqlite3", "peak RSS MB", "error"]
    table = [cols]
    for s in run.steps:
        table.append([s.name, s.status, "" if s.seconds is None else f"{s.seconds:.2f}",
                      "" if s.rows is None else f"{s.rows:,}",
                      "" if s.rows_per_s is None else f"{s.rows_per_s:,.0f}",
                      "" if s.vs_sqlite3 is None else f"{s.vs_sqlite3:.2f}x",
                      "" if s.peak_rss_mb is None else f"{s.peak_rss_mb:.1f}", s.error[:90]])
    widths = [max(len(row[i]) for row in table) for i in range(len(cols))]
    print(f"privdom benchmark: {run.members:,} members, seed {run.seed}, plan date {run.plan_date}, "
          f"{run.machine['cpus']} CPUs, Python {run.machine['python']}")
    if run.sqlite3:
        print(f"reference: sqlite3 {run.sqlite3['version']} ({run.sqlite3['note']})")
    for i, row in enumerate(table):
        print("  ".join(cell.ljust(w) if j in (0, 1, 7) else cell.rjust(w) for j, (cell, w) in
                        enumerate(zip(row, widths, strict=True))).rstrip())
        if i == 0:
            print("  ".join("-" * w for w in widths))
    for key, value in run.targets.items():
        if isinstance(value, dict):
            verdict = "met" if value["met"] else "MISSED"
            print(f"target {key}: {value['value']} (target {value['target']}): {verdict}")
        else:
            print(f"{key}: {value}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Benchmark privdom import, members, segments, tiers, plan.")
    parser.add_argument("--members", type=int, default=1_000_000,
                        help="members to generate (default 1,000,000)")
    parser.add_argument("--seed", type=int, default=7, help="generator seed (default 7)")
    parser.add_argument("--keep", type=Path, help="work in this folder and keep the data and database")
    parser.add_argument("--json", type=Path, help="also write the results as JSON to this file")
    parser.add_argument("--timeout", type=float, default=7200, help="seconds allowed per step (default 7200)")
    parser.add_argument("--data", type=Path,
                        help="use the files an earlier run (or examples/generate.py) wrote to this folder "
                             "instead of generating them; they are only read, --members and --seed are "
                             "taken as describing them")
    parser.add_argument("--no-narrow", action="store_true",
                        help="leave out the first import of the narrow members/orders pair")
    args = parser.parse_args(argv)
    if args.members < 1:
        parser.error("--members must be at least 1")
    sys.path.insert(0, str(GENERATOR.parent))
    import generate  # noqa: F401 - checks the generator is importable before spending time

    work = args.keep if args.keep else Path(tempfile.mkdtemp(prefix="privdom-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    data = work / "data"
    if args.data:
        missing = [name for name, _ in generate.FILES.values() if not (args.data / name).is_file()]
        if missing:
            parser.error(f"--data {args.data}: no {', '.join(missing)}")
    run = Run(members=args.members, seed=args.seed, plan_date=PLAN_DATE,
              machine={"cpus": os.cpu_count(), "python": platform.python_version(),
                       "platform": platform.platform()})
    try:
        if args.data:
            # Reused files: nothing is generated, and the reference's scratch files go to the work folder.
            gen = Step(name="generate", command=f"(reused {args.data})", status="skipped")
            files = {kind: args.data / name for kind, (name, _) in generate.FILES.items()}
            data.mkdir(exist_ok=True)
        else:
            print(f"generating {args.members:,} members in {data} ...", file=sys.stderr)
            gen = measure("generate", [sys.executable, str(GENERATOR), "--members", str(args.members),
                                       "--out", str(data), "--seed", str(args.seed)], timeout=args.timeout)
            files = {kind: data / name for kind, (name, _) in generate.FILES.items()}
        run.steps.append(gen)
        if gen.status == "failed":
            print_table(run)
            return 1
        rows = {kind: count_records(files[kind], enc) for kind, (_, enc) in generate.FILES.items()}
        if not args.data:
            gen.rows = rows["members"] + rows["orders"]
            gen.rows_per_s = round(gen.rows / gen.seconds) if gen.seconds else None
        binary = shutil.which("sqlite3")
        reference: dict[str, Step] = {}
        if binary:
            print("loading the same files with sqlite3 .import ...", file=sys.stderr)
            reference = sqlite3_reference(binary, data, files, rows, run)
        else:
            run.sqlite3 = {"note": "no sqlite3 binary on PATH: no reference ratio"}
        print("running privdom ...", file=sys.stderr)
        (work / "ws").mkdir(exist_ok=True)
        privdom_steps(work / "ws", files, rows, reference, run, args.timeout, binary)
        if not args.no_narrow:
            print("the narrow pair ...", file=sys.stderr)
            narrow_steps(work, files, run, args.timeout, binary)
        check_targets(run)
        print_table(run)
        if args.json:
            text = json.dumps(asdict(run), ensure_ascii=False, indent=2) + "\n"
            args.json.write_text(text, encoding="utf-8")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
