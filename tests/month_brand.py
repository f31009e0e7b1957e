"""The example brand over a month of saved mornings: the workspace `review`, holdouts, `simulate`
and `sop diff` are tested on (the `month` fixture in conftest.py builds it once per session).

The example brand with its orders up to the last planned day, 30 mornings planned and saved, a
seeded share of each morning's tasks done and skipped, then the brand's later orders imported.
"""

from __future__ import annotations

import csv
import gc
import hashlib
import json
import random
import re
import shutil
import sqlite3
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from typer.testing import CliRunner

from privdom.cli.main import app
from privdom.planner import build_plan, save_plan
from privdom.planner.history import close
from privdom.playbook import load_playbook
from privdom.store import connect
from privdom.workspace import EXAMPLE_FILES, examples_dir

FIRST, LAST = date(2026, 10, 16), date(2026, 11, 14)
HOLDOUT_RULE = "inactive-30-reminder"
PAID = re.compile(r"^(\d{4})[-/](\d{1,2})[-/](\d{1,2})")


class Workspace:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.db = folder / "privdom.db"
        self.sops = folder / "sops"
        self.runner = CliRunner()

    def run(self, *args: str, sops: Path | None = None, code: int = 0) -> Any:
        result = self.runner.invoke(app, ["--db", str(self.db), "--sops", str(sops or self.sops), *args])
        assert result.exit_code == code, (args, result.stdout[-2000:], result.stderr[-2000:])
        return result

    def json(self, *args: str, sops: Path | None = None) -> Any:
        return json.loads(self.run(*args, "--format", "json", sops=sops).stdout)

    def rows(self, sql: str, *params: Any) -> list[sqlite3.Row]:
        conn = sqlite3.connect(self.db)
        conn.row_factory = sqlite3.Row
        try:
            return conn.execute(sql, params).fetchall()
        finally:
            conn.close()


def edit_playbook(sops: Path) -> None:
    """The month's playbook: the default one with a holdout on a busy member rule."""
    conversion = sops / "retention.yaml"
    text = conversion.read_text(encoding="utf-8")
    marker = f"    - id: {HOLDOUT_RULE}\n"
    assert marker in text
    conversion.write_text(text.replace(marker, marker + "      holdout: 0.2\n", 1), encoding="utf-8")


def split_orders(folder: Path, last: date) -> tuple[Path, Path]:
    """The brand's orders paid up to `last`, and the later ones (the export that arrives afterwards)."""
    with (examples_dir() / "orders.csv").open(encoding="utf-8-sig", newline="") as f:
        header, *records = list(csv.reader(f))
    early: list[list[str]] = []
    later: list[list[str]] = []
    for record in records:
        match = PAID.match(record[3])
        assert match, record
        paid = date(int(match[1]), int(match[2]), int(match[3]))
        (early if paid <= last else later).append(record)
    paths = folder / "orders_early.csv", folder / "orders_later.csv"
    for path, part in zip(paths, (early, later), strict=True):
        with path.open("w", encoding="utf-8", newline="") as f:
            csv.writer(f).writerows([header, *part])
    assert early and later
    return paths


def build_base(folder: Path) -> Workspace:
    ws = Workspace(folder)
    ws.run("init", str(folder))
    edit_playbook(ws.sops)
    early, _ = split_orders(folder, LAST)
    for kind, name in EXAMPLE_FILES:
        ws.run("import", kind, str(early if kind == "orders" else examples_dir() / name))
    return ws


def build_month(folder: Path) -> Workspace:
    """The month's mornings go through the services `plan --save` and `done` call (the commands
    themselves are tested elsewhere): reading the playbook once, not sixty times, saves seconds."""
    ws = build_base(folder)
    shutil.copyfile(ws.db, folder / "base.db")  # before any plan: the second run starts here
    playbook = load_playbook(ws.sops)
    zone = ZoneInfo(playbook.timezone)
    rng = random.Random(20)
    conn = connect(ws.db)
    try:
        day = FIRST
        while day <= LAST:
            plan = build_plan(conn, playbook, day)
            save_plan(conn, plan, saved_at=datetime.combine(day, time(8), zone))
            assert plan.tasks, day
            done: list[str] = []
            skipped: list[str] = []
            for t in plan.tasks:
                draw = rng.random()
                (done if draw < 0.6 else skipped if draw < 0.8 else []).append(t.id)
            evening = datetime.combine(day, time(21), zone)
            close(conn, done, skip=False, note=None, closed_at=evening)
            close(conn, skipped, skip=True, note=None, closed_at=evening)
            day += timedelta(days=1)
    finally:
        conn.close()
    _, later = split_orders(folder, LAST)
    ws.run("import", "orders", str(later))
    return ws


def files(folder: Path) -> dict[str, str]:
    """Every file of the folder by its hash, once the connections the commands left are closed."""
    gc.collect()
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.iterdir())
        if p.is_file()
    }
