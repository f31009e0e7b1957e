"""`privdom simulate` and `privdom sop diff` on copies of the month of the example brand: the
workspace stays as it was, loads add up, and a removed rule changes only its tasks and what it freed."""

from __future__ import annotations

import shutil
import subprocess
from collections import defaultdict
from datetime import timedelta
from pathlib import Path

from month_brand import HOLDOUT_RULE, LAST, Workspace
from month_brand import files as _files
from privdom.playbook import load_playbook
from privdom.replay import workspace_copy
from privdom.sop_diff import sop_diff


def test_simulate_leaves_the_workspace_as_it_was_and_adds_up(month: Workspace) -> None:
    start, end = LAST + timedelta(days=1), LAST + timedelta(days=30)
    first_plan = month.json("plan", "--date", start.isoformat())  # what the first simulated morning must plan
    before = _files(month.folder)
    sim = month.json("simulate", "--from", start.isoformat(), "--to", end.isoformat(), "--done-rate", "0.8")
    assert _files(month.folder) == before
    assert sim["days"] == 30
    per_owner: dict[str, int] = defaultdict(int)
    for d in sim["load"]:
        per_owner[d["owner"]] += d["tasks"]
        assert d["member_tasks"] <= d["capacity"] and d["over_capacity"] is False
    assert dict(per_owner) == sim["by_owner"] and sum(per_owner.values()) == sim["tasks"]
    first_day = {d["owner"]: d["tasks"] for d in sim["load"] if d["date"] == start.isoformat()}
    assert first_day == first_plan["summary"]["by_owner"]
    assert 0.75 <= sim["done"] / sim["tasks"] <= 0.85
    assert sim["touches_7_days"]["limit"] == 2 and sim["touches_7_days"]["over_limit"] == 0
    assert max(int(k) for k in sim["touches_7_days"]["members"]) <= 2
    assert sim["touches_30_days"]["limit"] == 4
    assert sum(sim["touches_30_days"]["members"].values()) == sum(sim["touches_7_days"]["members"].values())
    assert "festival-mid-autumn-warmup" in sim["never_fired"] and "welfare-morning" not in sim["never_fired"]
    # --sops simulates another playbook: here one whose owners carry 8 member tasks a day
    tight = month.folder / "sops-capacity-8"
    shutil.copytree(month.sops, tight)
    settings = tight / "playbook.yaml"
    settings.write_text(
        settings.read_text(encoding="utf-8").replace("owner_daily_capacity: 150", "owner_daily_capacity: 8"),
        encoding="utf-8",
    )
    small = month.json("simulate", "--from", start.isoformat(), "--to", (start + timedelta(days=2)).isoformat(),
                       "--sops", str(tight))
    assert {d["capacity"] for d in small["load"]} == {8}
    assert max(d["member_tasks"] for d in small["load"]) == 8 and small["deferred_by_cause"]["owner_capacity"] > 0
    assert _files(month.folder) == {**before, **_files(month.folder)}  # only the copied playbook is new
    newcomers = sim["newcomers"]
    joined = sorted(
        (r["when"]["offset"], r["id"]) for stage in month.json("sop", "show")["stages"].values() for r in stage
        if r["when"]["trigger"] == "joined"
    )
    assert newcomers["rules"] == [rule for _, rule in joined] and len(joined) >= 2
    assert newcomers["entered"] == newcomers["completed"] + newcomers["incomplete"] > 0


def test_sop_diff_of_a_removed_rule_shows_its_tasks_and_the_deferrals_it_frees(month: Workspace) -> None:
    day = "2026-11-20"  # a Friday: koc-nurture fires, and the 7-day cap defers touches
    tight, removed = month.folder / "sops-tight", month.folder / "sops-removed"
    shutil.copytree(month.sops, tight)
    settings = tight / "playbook.yaml"
    text = settings.read_text(encoding="utf-8")
    settings.write_text(text.replace("owner_daily_capacity: 150", "owner_daily_capacity: 20"), encoding="utf-8")
    shutil.copytree(tight, removed)
    retention = removed / "retention.yaml"
    text = retention.read_text(encoding="utf-8")
    start, end = text.index("    - id: koc-nurture\n"), text.index("    - id: inactive-30-reminder\n")
    retention.write_text(text[:start] + text[end:], encoding="utf-8")
    before_plan = month.json("plan", "--date", day, sops=tight)
    assert before_plan["deferred"], "the day needs deferrals for the test to mean something"
    before = _files(month.folder)
    diff = month.json("sop", "diff", str(tight), "--date", day, sops=removed)
    assert _files(month.folder) == before
    assert (diff["rules_removed"], diff["rules_added"], diff["rules_changed"]) == (["koc-nurture"], [], [])
    assert diff["settings_changed"] == []
    rules = {c["key"]: c for c in diff["tasks_by_rule"]}
    koc = [t for t in before_plan["tasks"] if t["rule"] == "koc-nurture"]
    assert rules["koc-nurture"]["before"] == len(koc) > 0 and rules["koc-nurture"]["after"] == 0
    waits = {c["key"]: c for c in diff["deferred_by_rule"]}
    for rule, c in rules.items():
        if rule == "koc-nurture":
            continue
        w = waits.get(rule, {"before": 0, "after": 0})
        assert c["after"] - c["before"] == w["before"] - w["after"] >= 0, rule  # only what was freed
    freed = sum(w["before"] - w["after"] for k, w in waits.items() if k != "koc-nurture")
    assert diff["tasks"]["after"] == diff["tasks"]["before"] - len(koc) + freed
    assert freed > 0
    assert {m["member_id"] for m in diff["touches_down"]} <= {t["member_id"] for t in koc}
    assert sum(c["before"] - c["after"] for c in diff["tasks_by_owner"]) == len(koc) - freed
    # two mornings: the second sees the first's saved tasks on each side's own copy
    two = month.json("sop", "diff", str(tight), "--from", day, "--days", "2", sops=removed)
    assert (two["first"], two["last"]) == (day, "2026-11-21")
    koc_two = next(c for c in two["tasks_by_rule"] if c["key"] == "koc-nurture")
    assert koc_two == {"key": "koc-nurture", "before": len(koc), "after": 0}  # a Friday rule: none on Saturday
    assert two["tasks"]["before"] > diff["tasks"]["before"]
    assert _files(month.folder) == before
    # against itself: nothing changes
    same = month.json("sop", "diff", str(tight), "--date", day, sops=tight)
    assert all(c["before"] == c["after"] for key in ("tasks_by_rule", "tasks_by_owner", "deferred_by_cause")
               for c in same[key])
    assert same["touches_up"] == same["touches_down"] == []


def test_sop_diff_reads_a_git_revision(tmp_path: Path, month: Workspace) -> None:
    folder = tmp_path / "repo"
    shutil.copytree(month.sops, folder / "sops")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q", str(folder)], check=True)
    subprocess.run([*git, "-C", str(folder), "add", "sops"], check=True)
    subprocess.run([*git, "-C", str(folder), "commit", "-qm", "playbook"], check=True)
    retention = folder / "sops" / "retention.yaml"
    text = retention.read_text(encoding="utf-8")
    retention.write_text(text.replace("      holdout: 0.2\n", "      holdout: 0.1\n"), encoding="utf-8")
    diff = month.json("sop", "diff", "--rev", "HEAD", "--date", "2026-11-16", sops=folder / "sops")
    assert diff["rules_changed"] == [{"rule": HOLDOUT_RULE, "keys": ["holdout"]}]
    assert (folder / "sops" / "retention.yaml").read_text(encoding="utf-8") != text  # working tree untouched
    changed = retention.read_text(encoding="utf-8")
    retention.write_text(text.replace("      holdout: 0.2\n", "      holdout: 0.9\n"), encoding="utf-8")
    subprocess.run([*git, "-C", str(folder), "commit", "-qam", "too much"], check=True)
    retention.write_text(changed, encoding="utf-8")
    broken = month.run("sop", "diff", "--rev", "HEAD", "--date", "2026-11-16", sops=folder / "sops", code=1)
    assert broken.stderr.startswith(f"error: HEAD:{folder / 'sops'}/retention.yaml:")
    assert "holdout: expected a number <= 0.5, got 0.9" in broken.stderr.splitlines()[0]
    bad = month.run("sop", "diff", "--rev", "nope", "--date", "2026-11-16", sops=folder / "sops", code=1)
    assert bad.stderr.startswith("error: git ls-tree")
    both = month.run("sop", "diff", str(month.sops), "--rev", "HEAD", sops=folder / "sops", code=1)
    assert both.stderr.splitlines()[0] == "error: give either a playbook folder or --rev REV"


def test_sop_diff_sides_sharing_a_folder_read_the_same_as_separate_copies(month: Workspace, tmp_path: Path) -> None:
    """The CLI makes both copies in one folder so the second side reads the first's metrics
    snapshot; the result must be the one of two unrelated copies."""
    before = load_playbook(month.sops)
    changed = tmp_path / "sops"
    shutil.copytree(month.sops, changed)
    settings = changed / "playbook.yaml"
    settings.write_text(
        settings.read_text(encoding="utf-8").replace("private_touches_per_7_days: 2", "private_touches_per_7_days: 1"),
        encoding="utf-8",
    )
    after = load_playbook(changed)
    day = LAST + timedelta(days=2)
    separate = sop_diff(lambda: workspace_copy(month.db), before, after, day, day)
    shared = tmp_path / "shared"
    shared.mkdir()
    together = sop_diff(lambda: workspace_copy(month.db, shared), before, after, day, day)
    assert together == separate
    assert separate.settings_changed == ["limits.private_touches_per_7_days"]
    assert any(c.before != c.after for c in separate.deferred_by_cause)
    assert [p.name for p in shared.iterdir() if not p.name.startswith("privdom.db-metrics-")] == []
