"""`privdom members|member|tiers|segments` end to end, checked against the Python reference."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from privdom.playbook import load_playbook
from test_metrics import D1, D2, build_rows, insert, reference

Cli = Callable[..., Any]


@pytest.fixture
def data(workspace: Path) -> dict[str, list[tuple[Any, ...]]]:
    rows = build_rows()
    rows["members"].append(
        ("00042", "=HYPERLINK(1)", "13812345678", "2024-01-05 08:00:00", "owner9", '["vip", "茶友"]', 5, None,
         None, None, None)
    )  # fmt: skip
    rows["orders"] += [
        ("X1", "00042", "2024-01-05 09:00:00", 150000, 1),
        ("X2", "00042", "2024-01-05 21:00:00", 200000, 1),
        ("X3", "00042", "2025-12-20 10:00:00", 0, 1),
        ("X4", "00042", "2025-12-21 10:00:00", 99900, 0),
    ]
    insert(workspace / "privdom.db", rows)
    conn = sqlite3.connect(workspace / "privdom.db")
    with conn:
        conn.execute("INSERT INTO groups (group_id, name, type) VALUES ('g1', '福利一群', 'welfare')")
        conn.execute(
            "INSERT INTO group_members (group_id, member_id, joined_at) VALUES ('g1', '00042', '2024-01-06')"
        )
    conn.close()
    return rows


def _want(workspace: Path, rows: dict[str, list[tuple[Any, ...]]], day: Any) -> dict[str, dict[str, Any]]:
    return reference(rows, load_playbook(workspace / "sops"), day)


@pytest.mark.parametrize("day", [D1, D2])
def test_members_json_matches_the_reference(cli: Cli, workspace: Path, data: Any, day: Any) -> None:
    res = cli("members", "--date", day.isoformat(), "--format", "json")
    assert res.exit_code == 0, res.stderr
    got = {r["member_id"]: r for r in res.json()}
    want = _want(workspace, data, day)
    assert set(got) == set(want)
    for mid, w in want.items():
        g = got[mid]
        assert g["spend_total"] == f"{w['spend_total'] / 100:.2f}"
        for key in (
            "orders_total",
            "tier",
            "lifecycle",
            "rfm_class",
            "rfm_r",
            "segment_since",
            "recency_days",
        ):
            assert g[key] == w[key], (mid, key)
        assert g["koc"] is bool(w["koc"])


def test_member_00042_keeps_its_zeros_and_phone_is_masked(cli: Cli, data: Any) -> None:
    rec = next(
        r for r in cli("members", "--date", "2026-01-01", "-f", "json").json() if r["member_id"] == "00042"
    )
    assert rec["phone"] == "138****5678"
    assert rec["orders_total"] == 3  # the refund does not count; the zero-amount order does
    assert rec["purchase_days"] == 2  # two orders on one day
    assert rec["spend_total"] == "3500.00"
    assert rec["tags"] == ["vip", "茶友"]
    shown = cli("members", "--date", "2026-01-01", "-f", "json", "--show-pii").json()
    assert next(r for r in shown if r["member_id"] == "00042")["phone"] == "13812345678"


def test_members_csv_streams_every_member_with_escaping(cli: Cli, workspace: Path, data: Any) -> None:
    res = cli("members", "--date", D1.isoformat(), "-f", "csv")
    assert res.exit_code == 0, res.stderr
    rows = list(csv.DictReader(io.StringIO(res.stdout)))
    assert len(rows) == len(_want(workspace, data, D1))
    row = next(r for r in rows if r["member_id"] == "00042")
    assert row["name"] == "'=HYPERLINK(1)"
    assert row["tags"] == "vip,茶友"


@pytest.mark.parametrize("pii", [False, True])
def test_members_csv_is_the_general_rendering_for_odd_cells_too(
    cli: Cli, workspace: Path, data: Any, pii: bool
) -> None:
    # Cells SQLite prepares for the fast CSV path, and rows it leaves to Python (compact or
    # escaped tags, a phone with full-width digits), against the general renderer.
    conn = sqlite3.connect(workspace / "privdom.db")
    with conn:
        conn.executemany(
            "INSERT INTO members (member_id, name, phone, phone_display, tags, points, joined_at) "
            "VALUES (?, ?, ?, ?, ?, ?, '2024-01-01')",
            [
                ("T1", "+plus", None, "138****0000", '["a","b"]', -5),
                ("T2", "@at", "１３８１２３４５６７８", None, '["x"]', "-text"),
                ("T3", "-minus", "13900001111", None, '["q\\"uote", "b"]', None),
                ("T4", "tab\tname", "", "", '[""]', 3),
                ("T5", "=eq", "139000011112", None, '["-dash", "b,c"]', 0),
            ],
        )
        conn.execute(
            "INSERT INTO orders (order_id, member_id, paid_at, amount_fen) VALUES ('t1', 'T1', '2024-02-01', 5)"
        )
    conn.close()
    flags = ["--show-pii"] if pii else []
    res = cli("members", "--date", D1.isoformat(), "-f", "csv", *flags)
    assert res.exit_code == 0, res.stderr

    from privdom import metrics, store
    from privdom.render import members as render

    out = io.StringIO()
    rows = metrics.member_rows(
        store.connect(workspace / "privdom.db"), load_playbook(workspace / "sops"), D1, {}, render.QUERY_COLUMNS
    )
    render.members(rows, "csv", pii, out)
    assert res.stdout == out.getvalue()
    got = {r["member_id"]: r for r in csv.DictReader(io.StringIO(res.stdout))}
    assert got["T1"]["name"] == "'+plus" and got["T1"]["tags"] == "a,b" and got["T1"]["points"] == "-5"
    assert got["T2"]["points"] == "'-text"
    assert got["T5"]["tags"] == "'-dash,b,c"


def test_members_filters(cli: Cli, workspace: Path, data: Any) -> None:
    want = _want(workspace, data, D1)
    got = cli(
        "members", "--date", D1.isoformat(), "-f", "json", "--tier", "gold", "--segment", "churned"
    ).json()
    assert sorted(r["member_id"] for r in got) == sorted(
        m for m, r in want.items() if r["tier"] == "gold" and r["lifecycle"] == "churned"
    )
    got = cli("members", "--date", D1.isoformat(), "-f", "json", "--rfm-class", "important_value").json()
    assert len(got) == sum(1 for r in want.values() if r["rfm_class"] == "important_value")
    tagged = cli(
        "members", "--date", D1.isoformat(), "-f", "json", "--tag", "vip", "--owner", "owner9"
    ).json()
    assert [r["member_id"] for r in tagged] == ["00042"]
    assert len(cli("members", "--date", D1.isoformat(), "-f", "json", "--limit", "5").json()) == 5


def test_members_unknown_tier_is_a_user_error(cli: Cli, data: Any) -> None:
    res = cli("members", "--tier", "platinum")
    assert res.exit_code == 1
    assert res.stderr.splitlines() == [
        "error: --tier 'platinum' is not one of regular, silver, gold",
        "hint: use one of: regular (普通会员, Regular), silver (银卡会员, Silver), gold (金卡会员, Gold)",
    ]


def test_member_profile_explains(cli: Cli, data: Any) -> None:
    res = cli("member", "00042", "--date", "2026-01-01", "-f", "json")
    assert res.exit_code == 0, res.stderr
    p = res.json()
    assert p["member"]["member_id"] == "00042"
    assert p["tier"]["id"] == "gold" and p["tier"]["threshold"] == 6000 and p["tier"]["value"] == 35000
    assert p["tier"]["since"] == "2024-01-05" and p["tier"]["next"] is None
    assert p["lifecycle"]["id"] == "mature" and p["lifecycle"]["condition"] is None
    assert p["lifecycle"]["since"] == "2024-01-05"  # the second order, the same day as the first
    assert p["rfm"]["class"] in ("important_value", "important_development")
    assert [g["group_id"] for g in p["groups"]] == ["g1"]
    assert p["upcoming_tasks"] == []
    assert cli("member", "00042", "--date", "2026-01-01").exit_code == 0


def test_member_next_tier_distance(cli: Cli, workspace: Path, data: Any) -> None:
    want = _want(workspace, data, D1)
    mid = next(m for m, r in want.items() if r["tier"] == "regular" and r["basis"] == "orders")
    p = cli("member", mid, "--date", D1.isoformat(), "-f", "json").json()
    assert p["tier"]["next"]["id"] == "silver"
    assert p["tier"]["next"]["distance"] == 3000 - want[mid]["growth"]


def test_unknown_member(cli: Cli, data: Any) -> None:
    res = cli("member", "42")
    assert res.exit_code == 1
    assert res.stderr.splitlines() == [
        "error: no member with id '42'",
        "hint: IDs are matched exactly (leading zeros count); list them with `privdom members`",
    ]


def test_tiers_and_what_if(cli: Cli, workspace: Path, data: Any) -> None:
    want = _want(workspace, data, D1)
    res = cli("tiers", "--date", D1.isoformat(), "-f", "json")
    assert res.exit_code == 0, res.stderr
    dist = res.json()
    counts = Counter(r["tier"] for r in want.values())
    assert {c["id"]: c["members"] for c in dist["classes"]} == {
        t: counts.get(t, 0) for t in ("regular", "silver", "gold")
    }
    assert dist["members"] == len(want)
    assert 0 < dist["top20_spend_share"] <= 1
    what = cli("tiers", "--date", D1.isoformat(), "-f", "json", "--what-if", "gold=4000").json()
    gold = next(c for c in what["classes"] if c["id"] == "gold")
    assert gold["members"] == sum(1 for r in want.values() if r["growth"] >= 4000)
    assert gold["members_now"] == counts.get("gold", 0) and gold["min"] == 4000
    bad = cli("tiers", "--what-if", "diamond=1")
    assert bad.exit_code == 1
    assert bad.stderr.splitlines()[0] == "error: --what-if 'diamond=1': no tier 'diamond'"


@pytest.mark.parametrize("model,key", [("lifecycle", "lifecycle"), ("rfm", "rfm_class")])
def test_segments(cli: Cli, workspace: Path, data: Any, model: str, key: str) -> None:
    want = _want(workspace, data, D2)
    dist = cli("segments", "--date", D2.isoformat(), "--model", model, "-f", "json").json()
    counts = Counter(r[key] for r in want.values())
    assert {c["id"]: c["members"] for c in dist["classes"] if c["members"]} == dict(counts)
    spend = sum(r["spend_total"] for r in want.values())
    assert dist["spend"] == f"{spend / 100:.2f}"
    assert all(c["zh"] and c["en"] for c in dist["classes"])
    assert cli("segments", "--date", D2.isoformat(), "--model", model).exit_code == 0
    assert cli("segments", "--date", D2.isoformat(), "--model", model, "-f", "csv").exit_code == 0


def test_member_not_joined_yet(cli: Cli, data: Any) -> None:
    res = cli("member", "00042", "--date", "2023-12-31")
    assert res.exit_code == 1
    assert res.stderr.splitlines() == [
        "error: member '00042' had not joined by 2023-12-31",
        "hint: pick a later --date, or leave it out for today",
    ]


def test_members_table_is_capped_and_says_so(cli: Cli, data: Any) -> None:
    res = cli("members", "--date", D1.isoformat())
    assert res.exit_code == 0, res.stderr
    assert res.stderr.strip() == "showing the 50 highest-spending members; --limit N or --format csv for more"
    assert "member_id" in res.stdout


@pytest.mark.parametrize("width", [80, 100, 160])
def test_members_table_never_cuts_an_id(cli: Cli, data: Any, monkeypatch: pytest.MonkeyPatch, width: int) -> None:
    """An id is what `privdom member ID` takes: at any width it is printed whole, on one line."""
    monkeypatch.setenv("COLUMNS", str(width))
    res = cli("members", "--date", D1.isoformat(), "--format", "json")
    ids = [m["member_id"] for m in json.loads(res.stdout)]
    res = cli("members", "--date", D1.isoformat(), "--limit", "100000")
    assert res.exit_code == 0, res.stderr
    lines = res.stdout.splitlines()
    assert ids and all(any(f" {i} " in line for line in lines) for i in ids)
    assert all(len(line) <= width for line in lines)
