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
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
GENERATOR = ROOT / "examples" / "generate.py"
PLAN_DATE = "2026-11-23"
# The morning after: the first command of a new date finds no metrics snapshot for it and builds one.
NEXT_DAY = "2026-11-24"

# SPEC §6 targets, on a 2-core machine at 1,000,000 members.
TARGET_IMPORT_RATIO = 2.5
TARGET_PLAN_SECONDS = 3.0
TARGET_IMPORT_RSS_MB = 300.0

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


def measure(name: str, argv: list[str], *, env: dict[str, str] | None = None, cwd: Path | None = None,
            stdout_path: Path | None = None, rows: int | None = None, timeout: float = 7200) -> Step:
    """Run one child process; its wall time and its peak RSS (its own, or with its own children
    together when that is more: not ours, not its siblings')."""
    step = Step(name=name, command=" ".join(argv))
    out = open(stdout_path, "wb") if stdout_path else subprocess.DEVNULL  # noqa: SIM115
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
        out.close()  # type: ignore[union-attr]
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


def privdom_steps(work: Path, files: dict[str, Path], rows: dict[str, int], reference: dict[str, Step],
                  run: Run, timeout: float) -> None:
    env = dict(os.environ, PRIVDOM_DB=str(work / "privdom.db"), PRIVDOM_SOPS=str(work / "sops"),
               PRIVDOM_LOG_DIR=str(work / "logs"))
    if (ROOT / "src" / "privdom").is_dir():  # a clean clone runs without installing
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "src"), env.get("PYTHONPATH")]))
        # An installed privdom comes byte-compiled (pip compiles what it installs). From a clone,
        # under PYTHONDONTWRITEBYTECODE every step would compile privdom's modules again, about
        # 0.2 s a command that no installed user pays, so they are compiled once, untimed.
        compileall.compile_dir(ROOT / "src" / "privdom", quiet=1)
    privdom = [sys.executable, "-m", "privdom"]

    def step(name: str, args: list[str], *, rows_: int | None = None, keep_stdout: bool = False) -> Step:
        out = work / f"{name.replace(' ', '_')}.out" if keep_stdout else None
        result = measure(name, privdom + args, env=env, cwd=work, stdout_path=out, rows=rows_,
                         timeout=timeout)
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
    step("plan, next day (builds metrics)", ["plan", "--no-save", "--date", NEXT_DAY, "--format", "json"])
    for kind in ("members", "orders"):
        name = f"re-import {kind} (unchanged)"
        if imported[kind].status != "ok":
            run.steps.append(Step(name, "", status="skipped", error=f"import {kind} failed"))
            continue
        step(name, ["import", kind, str(files[kind]), "--format", "json"], rows_=rows[kind], keep_stdout=True)


def check_targets(run: Run) -> None:
    by_name = {s.name: s for s in run.steps}
    targets: dict[str, Any] = {"note": "SPEC §6 targets are for 1,000,000 members on a 2-core machine"}
    mine = [by_name.get("import members"), by_name.get("import orders")]
    refs = [by_name.get("sqlite3 .import members"), by_name.get("sqlite3 .import orders")]
    if all(s and s.status == "ok" and s.seconds for s in mine + refs):
        ratio = sum(s.seconds or 0 for s in mine if s) / sum(s.seconds or 0 for s in refs if s)
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
            print(value)


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
        privdom_steps(work / "ws", files, rows, reference, run, args.timeout)
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
