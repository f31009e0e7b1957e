"""Regenerate the golden plan and schedule files of the example brand at a fixed date.

Run on purpose, review the diff, commit:

    python tests/golden/regen.py

`tests/test_golden.py` builds the same outputs and compares them with these files byte for byte,
so any change to the plan or schedule of the example brand shows up as a failing test and a diff.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

import yaml
from typer.testing import CliRunner

from privdom.cli.main import app

GOLDEN = Path(__file__).parent
DATE = "2026-11-23"  # the example brand's first morning after its export
OUTPUTS = {
    "plan.json": ["plan", "--date", DATE, "--format", "json"],
    "schedule.json": ["schedule", "--from", DATE, "--days", "7", "--format", "json"],
    "schedule.ics": ["schedule", "--from", DATE, "--days", "7", "--format", "ics"],
}
# A busy day: the same brand, but each owner confirms 4 member tasks a day and a member gets one private
# touch a week, so most of the day waits. The formats that name every deferred task show them all.
BUSY_LIMITS = {"owner_daily_capacity": 4, "private_touches_per_7_days": 1}
BUSY_OUTPUTS = {
    f"plan_busy.{fmt}": ["plan", "--date", DATE, "--format", fmt] for fmt in ("json", "csv", "md")
}
ALL_OUTPUTS = {**OUTPUTS, **BUSY_OUTPUTS}


def build_outputs(folder: Path) -> dict[str, str]:
    """Build the example brand's workspace in `folder` and return each golden file's fresh text."""
    runner = CliRunner()
    demo = runner.invoke(app, ["demo", "--dir", str(folder), "--date", DATE, "--format", "json"])
    if demo.exit_code != 0:
        raise RuntimeError(f"privdom demo failed: {demo.stderr}")
    db, sops = str(folder / "privdom.db"), str(folder / "sops")
    busy = busy_playbook(folder / "sops", folder / "sops-busy")
    outputs = {}
    for name, args in ALL_OUTPUTS.items():
        result = runner.invoke(app, ["--db", db, "--sops", busy if name in BUSY_OUTPUTS else sops, *args])
        if result.exit_code != 0:
            raise RuntimeError(f"privdom {' '.join(args)} failed: {result.stderr}")
        outputs[name] = result.stdout_bytes.decode("utf-8")  # .stdout would turn the CRLF of a calendar into LF
    return outputs


def busy_playbook(sops: Path, busy: Path) -> str:
    """A copy of the playbook folder `sops` with BUSY_LIMITS."""
    shutil.copytree(sops, busy)
    playbook = busy / "playbook.yaml"
    data = yaml.safe_load(playbook.read_text(encoding="utf-8"))
    data["limits"].update(BUSY_LIMITS)
    playbook.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return str(busy)


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="privdom-golden-") as tmp:
        for name, text in build_outputs(Path(tmp)).items():
            path = GOLDEN / name
            old = path.read_bytes().decode("utf-8") if path.exists() else None
            path.write_bytes(text.encode("utf-8"))
            state = "unchanged" if old == text else "written"
            print(f"{state}: {path.relative_to(GOLDEN.parent.parent)} ({len(text.encode())} bytes)", file=sys.stderr)


if __name__ == "__main__":
    main()
