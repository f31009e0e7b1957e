"""Regenerate the golden plan and schedule files of the example brand at a fixed date.

Run on purpose, review the diff, commit:

    python tests/golden/regen.py

`tests/test_golden.py` builds the same outputs and compares them with these files byte for byte,
so any change to the plan or schedule of the example brand shows up as a failing test and a diff.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from typer.testing import CliRunner

from privdom.cli.main import app

GOLDEN = Path(__file__).parent
DATE = "2026-11-23"  # the example brand's first morning after its export
OUTPUTS = {
    "plan.json": ["plan", "--date", DATE, "--format", "json"],
    "schedule.json": ["schedule", "--from", DATE, "--days", "7", "--format", "json"],
    "schedule.ics": ["schedule", "--from", DATE, "--days", "7", "--format", "ics"],
}


def build_outputs(folder: Path) -> dict[str, str]:
    """Build the example brand's workspace in `folder` and return each golden file's fresh text."""
    runner = CliRunner()
    demo = runner.invoke(app, ["demo", "--dir", str(folder), "--date", DATE, "--format", "json"])
    if demo.exit_code != 0:
        raise RuntimeError(f"privdom demo failed: {demo.stderr}")
    db, sops = str(folder / "privdom.db"), str(folder / "sops")
    outputs = {}
    for name, args in OUTPUTS.items():
        result = runner.invoke(app, ["--db", db, "--sops", sops, *args])
        if result.exit_code != 0:
            raise RuntimeError(f"privdom {' '.join(args)} failed: {result.stderr}")
        outputs[name] = result.stdout_bytes.decode("utf-8")  # .stdout would turn the CRLF of a calendar into LF
    return outputs


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
