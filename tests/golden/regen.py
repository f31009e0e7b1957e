"""Regenerate the golden plan and schedule files of the example brand at a fixed date.

Run on purpose, review the diff, commit:  python tests/golden/regen.py
The example brand's workspace builder is wired in at integration; until then this script only
states what it will write.
"""

from __future__ import annotations

from pathlib import Path

GOLDEN = Path(__file__).parent
DATE = "2026-11-25"  # a Wednesday, three days before the playbook's test node
OUTPUTS = {
    "plan.json": ["plan", "--date", DATE, "--format", "json"],
    "plan.md": ["plan", "--date", DATE, "--format", "md"],
    "schedule.json": ["schedule", "--from", DATE, "--days", "7", "--format", "json"],
    "schedule.ics": ["schedule", "--from", DATE, "--days", "7", "--format", "ics"],
}


def main() -> None:
    for name, args in OUTPUTS.items():
        print(f"{GOLDEN / name}: privdom {' '.join(args)}  (needs the example brand workspace)")


if __name__ == "__main__":
    main()
