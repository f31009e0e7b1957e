"""The benchmark's check of a patched metrics snapshot against a full build, at the benchmark's size.

    python bench/patch_check.py --date YYYY-MM-DD      (PRIVDOM_DB and PRIVDOM_SOPS point at the workspace)

Reads the snapshot the commands read for the date (the morning's is a patch of the day before),
computes every member's metrics again with the full build into a table of this connection only,
and compares the two row for row, every column (NULLs equal). Prints JSON: how the snapshot was
made ('patch of <date>', or 'full'), members, columns, rows that differ; exits 1 when any does.
Run by bench/run.py as a child process, with privdom importable.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import date
from pathlib import Path

from privdom import metrics, store
from privdom.playbook import load_playbook
from privdom.store import metrics as metrics_sql
from privdom.store import metrics_cache, metrics_patch


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--date", required=True, type=date.fromisoformat)
    args = parser.parse_args(argv)
    conn = store.connect(Path(os.environ["PRIVDOM_DB"]))
    playbook = load_playbook(Path(os.environ["PRIVDOM_SOPS"]))
    metrics.materialize(conn, playbook, args.date)
    made = metrics_patch.how_made(conn, metrics_cache.READING)
    conn.execute("CREATE TEMP TABLE patched AS SELECT * FROM member_metrics")
    metrics_sql.build_temp(conn, metrics.metrics_query(playbook, args.date))
    members = conn.execute("SELECT COUNT(*) FROM member_metrics").fetchone()[0]
    patched = conn.execute("SELECT COUNT(*) FROM patched").fetchone()[0]
    differing = conn.execute(
        "SELECT (SELECT COUNT(*) FROM (SELECT * FROM patched EXCEPT SELECT * FROM member_metrics))"
        " + (SELECT COUNT(*) FROM (SELECT * FROM member_metrics EXCEPT SELECT * FROM patched))"
    ).fetchone()[0]
    report = {"snapshot": made, "members": members, "patched_members": patched,
              "columns": len(metrics_sql.TABLE_COLUMNS), "differing_rows": differing}
    print(json.dumps(report))
    return 0 if differing == 0 and members == patched else 1


if __name__ == "__main__":
    sys.exit(main())
