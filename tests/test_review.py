"""`privdom review` over the month of the example brand (tests/month_brand.py), checked figure by
figure against a plain Python reference computed from the tasks, deferrals and orders tables."""

from __future__ import annotations

import csv
import io
import shutil
from collections import defaultdict
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from month_brand import FIRST, HOLDOUT_RULE, LAST, Workspace
from privdom.proportions import newcombe
from privdom.render.review import CSV_COLUMNS


@pytest.fixture(scope="module")
def reviewed(month: Workspace) -> dict[str, Any]:
    data = month.json("review", "--from", FIRST.isoformat(), "--to", LAST.isoformat())
    assert isinstance(data, dict)
    return data


# --- the reference -------------------------------------------------------------------------------


def reference(ws: Workspace, first: date, last: date, window: int = 7, min_count: int = 30) -> dict[str, Any]:
    """Every figure of `review --format json`, from the tables, one loop at a time."""
    d1, d2 = first.isoformat(), last.isoformat()
    tasks = [dict(r) for r in ws.rows("SELECT * FROM tasks WHERE date BETWEEN ? AND ?", d1, d2)]
    saved = {r["task_id"] for r in ws.rows("SELECT task_id FROM tasks")}
    waits = [
        dict(r)
        for r in ws.rows("SELECT * FROM deferrals WHERE date BETWEEN ? AND ?", d1, d2)
        if r["task_id"] not in saved
    ]
    orders: dict[str, list[tuple[str, int, int]]] = defaultdict(list)
    for r in ws.rows("SELECT rowid, member_id, paid_at, amount_fen FROM orders WHERE counted = 1"):
        orders[r["member_id"]].append((r["paid_at"], r["rowid"], r["amount_fen"]))
    through = max(paid[:10] for member in orders.values() for paid, _, _ in member)
    out: dict[str, Any] = {}
    for rule in sorted({t["rule"] for t in tasks} | {w["rule"] for w in waits}):
        mine = [t for t in tasks if t["rule"] == rule]
        entry: dict[str, Any] = {
            "issued": sum(t["status"] in ("open", "done", "skipped") for t in mine),
            "done": sum(t["status"] == "done" for t in mine),
            "skipped": sum(t["status"] == "skipped" for t in mine),
            "open": sum(t["status"] == "open" for t in mine),
            "held_out": sum(t["status"] == "holdout" for t in mine),
        }
        owners: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for t in mine:
            owners[t["owner"]][t["status"]] += 1
        issued = {o: s["done"] + s["skipped"] + s["open"] for o, s in owners.items()}
        entry["by_owner"] = {o: (s["done"], issued[o]) for o, s in owners.items() if issued[o]}
        units: dict[str, list[tuple[str, str, str]]] = defaultdict(list)
        for t in mine:
            if t["member_id"] is not None:
                units[t["status"]].append((t["member_id"], t["due_at"][:19].replace("T", " "), t["date"]))
        for w in waits:
            if w["rule"] == rule and w["member_id"] is not None and w["cause"] in ("member_cap", "owner_capacity"):
                units["deferred"].append((w["member_id"], w["due_at"][:19].replace("T", " "), w["date"]))
        arms: dict[str, tuple[set[str], dict[tuple[str, int], int]]] = {}
        for arm in ("done", "holdout", "skipped", "deferred"):
            members: set[str] = set()
            bought: dict[tuple[str, int], int] = {}
            for member, start, day in units[arm]:
                end = (date.fromisoformat(day) + timedelta(days=window)).isoformat()
                if end > through:
                    continue
                members.add(member)
                for paid, row, amount in orders[member]:
                    if paid >= start and paid[:10] <= end:
                        bought[(member, row)] = amount
            arms[arm] = (members, bought)
        entry["arms"] = {arm: _figures(*arms[arm], min_count) for arm in arms}
        if arms["holdout"][0]:
            pool = ["holdout"]
        elif arms["skipped"][0] or arms["deferred"][0]:
            pool = ["skipped", "deferred"]
        else:
            pool = []
        if pool:
            members = set().union(*(arms[a][0] for a in pool))
            bought = {k: v for a in pool for k, v in arms[a][1].items()}
            entry["arms"]["comparison"] = _figures(members, bought, min_count)
        entry["comparison"] = {"holdout": "randomized", "skipped": "observational"}.get(pool[0]) if pool else None
        out[rule] = entry
    return out


def _figures(members: set[str], bought: dict[tuple[str, int], int], min_count: int) -> dict[str, Any]:
    buyers = len({m for m, _ in bought})
    return {
        "members": len(members),
        "buyers": buyers,
        "rate": buyers / len(members) if len(members) >= min_count else None,
        "spend_fen": sum(bought.values()),
    }


# --- review --------------------------------------------------------------------------------------


def test_review_figures_match_a_reference_from_the_tables(month: Workspace, reviewed: dict[str, Any]) -> None:
    expected = reference(month, FIRST, LAST)
    rules = {r["rule"]: r for r in reviewed["rules"]}
    assert set(rules) == set(expected)  # every rule that fired, and only those
    member_rules = 0
    for rule, want in expected.items():
        got = rules[rule]
        for key in ("issued", "done", "skipped", "open", "held_out"):
            assert got[key] == want[key], (rule, key)
        assert {o["owner"]: (o["done"], o["issued"]) for o in got["by_owner"]} == want["by_owner"], rule
        for o in got["by_owner"]:
            assert o["rate"] == (o["done"] / o["issued"] if o["issued"] >= 30 else None)
        if got["action"] in ("group_post", "moment_post"):
            continue
        member_rules += 1
        assert got["comparison"] == want["comparison"], rule
        for arm, figures in want["arms"].items():
            outcome = got["outcomes"][arm]
            assert {k: outcome[k] for k in figures} == figures, (rule, arm)
            assert outcome["shown"] == ("n<30" if figures["rate"] is None else f"{figures['rate'] * 100:.1f}%")
        done, comparison = want["arms"]["done"], want["arms"].get("comparison")
        if comparison and done["rate"] is not None and comparison["rate"] is not None:
            value, low, high = newcombe(done["buyers"], done["members"], comparison["buyers"], comparison["members"])
            assert got["lift"]["value"] == pytest.approx(done["rate"] - comparison["rate"])
            assert (got["lift"]["low"], got["lift"]["high"]) == pytest.approx((low, high))
            assert low <= got["lift"]["value"] <= high
        elif comparison:
            assert got["lift"] == {"value": None, "low": None, "high": None, "shown": "n<30"}
    assert member_rules >= 8
    # the month really has each kind of figure
    assert any(r["lift"] and r["lift"]["value"] is not None for r in reviewed["rules"])
    assert any(r["outcomes"].get("done", {}).get("shown") == "n<30" for r in reviewed["rules"])
    assert any(r["outcomes"].get("deferred", {}).get("members") for r in reviewed["rules"])


def test_group_posts_are_reviewed_by_group_activity(month: Workspace, reviewed: dict[str, Any]) -> None:
    rule = next(r for r in reviewed["rules"] if r["rule"] == "welfare-morning")
    window = 7
    first_activity, last_activity = month.rows("SELECT MIN(date), MAX(date) FROM activity")[0]
    tasks = month.rows(
        "SELECT group_id, date, status FROM tasks WHERE rule = ? AND date BETWEEN ? AND ?",
        "welfare-morning", FIRST.isoformat(), LAST.isoformat(),
    )
    groups = {r["group_id"]: r["type"] for r in month.rows("SELECT group_id, type FROM groups")}
    kinds = {groups[t["group_id"]] for t in tasks}
    posted = {(t["group_id"], t["date"]) for t in tasks if t["status"] == "done"}
    messages: dict[tuple[str, str], int] = defaultdict(int)
    for a in month.rows("SELECT group_id, date, messages FROM activity"):
        messages[(a["group_id"], a["date"])] += a["messages"]
    sums = {True: [0, 0, 0], False: [0, 0, 0]}
    for day in sorted({t["date"] for t in tasks}):
        d = date.fromisoformat(day)
        if (d - timedelta(days=window)).isoformat() < first_activity or (
            d + timedelta(days=window)
        ).isoformat() > last_activity:
            continue
        for group, kind in groups.items():
            if kind not in kinds:
                continue
            before = sum(messages[(group, (d - timedelta(days=i)).isoformat())] for i in range(1, window + 1))
            after = sum(messages[(group, (d + timedelta(days=i)).isoformat())] for i in range(1, window + 1))
            row = sums[(group, day) in posted]
            row[0] += 1
            row[1] += before
            row[2] += after
    for key, flag in (("posted", True), ("not_posted", False)):
        got = rule["groups"][key]
        n, before, after = sums[flag]
        assert (got["group_days"], got["messages_before"], got["messages_after"]) == (n, before, after)
        assert got["change"] == pytest.approx(after / before - 1)
    assert rule["groups"]["posted"]["group_days"] > 0 and rule["groups"]["not_posted"]["group_days"] > 0
    assert rule["outcomes"] == {} and rule["lift"] is None


def test_review_labels_observational_and_randomized_comparisons(reviewed: dict[str, Any]) -> None:
    rules = {r["rule"]: r for r in reviewed["rules"]}
    held = rules[HOLDOUT_RULE]
    assert held["comparison"] == "randomized" and held["comparison_note"].startswith("randomized")
    observed = [r for r in reviewed["rules"] if r["comparison"] == "observational"]
    assert observed
    for r in observed:
        assert r["held_out"] == 0
        assert "not a random sample" in r["comparison_note"]
    assert any("not random samples" in note for note in reviewed["notes"])


def test_review_table_ranks_by_lift_and_flags_rules_that_never_fired(
    month: Workspace, reviewed: dict[str, Any]
) -> None:
    lifts = [r["lift"]["value"] for r in reviewed["rules"] if r["lift"] and r["lift"]["value"] is not None]
    assert lifts == sorted(lifts, reverse=True) and len(lifts) >= 2
    ranked = [r["rule"] for r in reviewed["rules"]]
    with_lift = [r["rule"] for r in reviewed["rules"] if r["lift"] and r["lift"]["value"] is not None]
    assert ranked[: len(lifts)] == with_lift
    playbook_rules = {r["id"] for r in month.json("sop", "list")}
    assert set(reviewed["never_fired"]) == playbook_rules - set(ranked)
    assert "festival-mid-autumn-warmup" in reviewed["never_fired"]
    table = month.run("review", "--from", FIRST.isoformat(), "--to", LAST.isoformat()).stdout
    first_row = next(line for line in table.splitlines() if line.startswith("│"))
    assert reviewed["rules"][0]["title"]["zh"][:4] in first_row  # the highest lift comes first
    assert table.count("⚠") == len(reviewed["never_fired"]) and "未触发" in table
    assert "n<30" in table and "随机对照" in table and "观察对比" in table
    # the execution rate per owner: one line per rule, done/issued for each owner
    held = next(r for r in reviewed["rules"] if r["rule"] == HOLDOUT_RULE)
    (line,) = [line for line in table.splitlines() if line.startswith(f"│ {HOLDOUT_RULE} ")]
    assert [cell.strip() for cell in line.strip("│ ").split("│")][1:] == [
        f"{o['shown']} ({o['done']}/{o['issued']})" for o in held["by_owner"]
    ]


def test_review_csv_and_html(month: Workspace, reviewed: dict[str, Any]) -> None:
    period = ("--from", FIRST.isoformat(), "--to", LAST.isoformat())
    rows = list(csv.DictReader(io.StringIO(month.run("review", *period, "--format", "csv").stdout)))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert [r["rule"] for r in rows] == [r["rule"] for r in reviewed["rules"]] + reviewed["never_fired"]
    by_rule = {r["rule"]: r for r in rows}
    held = next(r for r in reviewed["rules"] if r["rule"] == HOLDOUT_RULE)
    assert int(by_rule[HOLDOUT_RULE]["held_out"]) == held["held_out"]
    assert by_rule[HOLDOUT_RULE]["comparison"] == "randomized"
    docs = (Path(__file__).parent.parent / "docs" / "output.md").read_text(encoding="utf-8")
    assert ",".join(CSV_COLUMNS) in docs
    page = month.run("review", *period, "--format", "html").stdout
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert "<script" not in page and "http" not in page
    assert page.count("<svg") == 3  # a chart per stage
    assert page.count('class="never"') == len(reviewed["never_fired"])


def test_review_filters_and_errors(month: Workspace, reviewed: dict[str, Any]) -> None:
    one = month.json("review", "--from", FIRST.isoformat(), "--to", LAST.isoformat(), "--rule", HOLDOUT_RULE)
    assert [r["rule"] for r in one["rules"]] == [HOLDOUT_RULE] and one["never_fired"] == []
    owner = month.json("review", "--from", FIRST.isoformat(), "--to", LAST.isoformat(), "--owner", "小茶")
    assert all(o["owner"] == "小茶" for r in owner["rules"] for o in r["by_owner"])
    whole = {r["rule"]: r for r in reviewed["rules"]}
    for r in owner["rules"]:
        assert r["issued"] == next((o["issued"] for o in whole[r["rule"]]["by_owner"] if o["owner"] == "小茶"), 0)
    bad = month.run("review", "--from", "2026-11-14", "--to", "2026-10-16", code=1)
    assert bad.stderr.splitlines() == [
        "error: --to 2026-10-16 is before --from 2026-11-14",
        "hint: give the period's first day to --from",
    ]
    assert month.run("review", "--from", "2026-11-14", "--to", "2026-11-14", "--window", "0", code=2)
    unknown = month.run("review", "--from", "2026-11-14", "--to", "2026-11-14", "--rule", "nope", code=1)
    assert unknown.stderr.startswith("error: --rule 'nope' is not a rule of the playbook")


# --- the interval --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("counts", "expected"),
    [
        # Newcombe (1998), Table II, method 10
        ((56, 70, 48, 80), (0.0524, 0.3339)),
        ((9, 10, 3, 10), (0.1705, 0.8090)),
        ((6, 7, 2, 7), (0.0582, 0.8062)),
        ((5, 56, 0, 29), (-0.0381, 0.1926)),
    ],
)
def test_newcombe_interval_matches_the_published_values(
    counts: tuple[int, int, int, int], expected: tuple[float, float]
) -> None:
    _, low, high = newcombe(*counts)
    assert (round(low, 4), round(high, 4)) == expected


def test_every_field_of_the_json_is_documented() -> None:
    from privdom.review import Outcome, Review, RuleReview
    from privdom.simulate import Simulation
    from privdom.sop_diff import SopDiff

    docs = (Path(__file__).parent.parent / "docs" / "output.md").read_text(encoding="utf-8")
    review = docs[docs.index("## `privdom review --format json`"):docs.index("## `privdom simulate --format json`")]
    simulate = docs[docs.index("## `privdom simulate --format json`"):docs.index("## `privdom sop diff --format json`")]
    diff = docs[docs.index("## `privdom sop diff --format json`"):]
    for model, text in ((Review, review), (RuleReview, review), (Simulation, simulate), (SopDiff, diff)):
        for name in model.model_fields:
            assert f'"{name}"' in text or f"`{name}`" in text, (model.__name__, name)
    assert "{members, buyers, rate, spend_fen, shown}" in review and set(Outcome.model_fields) == {
        "members", "buyers", "rate", "spend_fen", "shown"
    }


def test_window_option_and_a_rules_own_review_window(month: Workspace, tmp_path: Path) -> None:
    period = ("--from", FIRST.isoformat(), "--to", LAST.isoformat())
    wide = month.json("review", *period, "--window", "14")
    expected = reference(month, FIRST, LAST, window=14)
    for r in wide["rules"]:
        assert r["window"] == 14
        for arm, figures in expected[r["rule"]]["arms"].items():
            if r["outcomes"]:
                assert {k: r["outcomes"][arm][k] for k in figures} == figures, (r["rule"], arm)
    # a rule's own review_window wins over --window
    sops = tmp_path / "sops"
    shutil.copytree(month.sops, sops)
    retention = sops / "retention.yaml"
    marker = f"    - id: {HOLDOUT_RULE}\n"
    retention.write_text(
        retention.read_text(encoding="utf-8").replace(marker, marker + "      review_window: 3\n"), encoding="utf-8"
    )
    own = month.json("review", *period, "--window", "14", "--rule", HOLDOUT_RULE, sops=sops)
    (rule,) = own["rules"]
    assert rule["window"] == 3
    short = reference(month, FIRST, LAST, window=3)[HOLDOUT_RULE]["arms"]
    for arm, figures in short.items():
        assert {k: rule["outcomes"][arm][k] for k in figures} == figures, arm
