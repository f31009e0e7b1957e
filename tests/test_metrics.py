"""member_metrics against a plain Python reference computed over the same rows."""

from __future__ import annotations

import random
import sqlite3
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from privdom import metrics, store
from privdom.errors import PrivdomError
from privdom.playbook import Playbook, load_playbook
from privdom.playbook.conditions import evaluate
from privdom.playbook.models import Segment

D1 = date(2026, 6, 30)
D2 = date(2025, 12, 31)  # a past date: later orders exist and must not count


def build_rows(seed: int = 7) -> dict[str, list[tuple[Any, ...]]]:
    rnd = random.Random(seed)
    members: list[tuple[Any, ...]] = []
    orders: list[tuple[Any, ...]] = []
    activity: list[tuple[Any, ...]] = []
    start = date(2024, 1, 1)
    for i in range(80):
        mid = f"{i + 100:05d}"  # leading zeros must survive
        joined = None if i % 17 == 0 else f"{start + timedelta(days=rnd.randrange(900))} 09:00:00"
        members.append(
            (
                mid,
                f"会员{i}",
                f"139{i:08d}",
                joined,
                f"owner{i % 3}",
                '["vip"]' if i % 5 == 0 else "[]",
                rnd.randrange(500),
                None,
                None,
                None,
                None,
            )
        )
        for k in range(rnd.choice([0, 0, 1, 1, 2, 3, 5, 8])):
            day = start + timedelta(days=rnd.randrange(950))
            amount = rnd.choice([0, 990, 2500, 12800, 59900, 150000])
            counted = 0 if rnd.random() < 0.15 else 1
            orders.append(
                (
                    f"{mid}-{k}",
                    mid,
                    f"{day} {rnd.randrange(24):02d}:{rnd.randrange(60):02d}:00",
                    amount,
                    counted,
                )
            )
            if rnd.random() < 0.3:  # another order the same day
                orders.append((f"{mid}-{k}b", mid, f"{day} 23:59:59", rnd.choice([0, 4500]), 1))
        for day_back in range(0, 45, 3):
            if rnd.random() < 0.3:
                for d in (D1, D2):
                    activity.append(
                        (
                            (d - timedelta(days=day_back)).isoformat(),
                            "g1",
                            mid,
                            rnd.randrange(12),
                            rnd.randrange(3),
                        )
                    )
    # Members known only from a member export's aggregates.
    members += [
        (
            "90001",
            "导入甲",
            None,
            "2024-02-01 10:00:00",
            "owner1",
            None,
            10,
            4500,
            800000,
            6,
            "2026-05-01 12:00:00",
        ),
        ("90002", "导入乙", None, None, "owner2", None, None, None, 300000, 1, "2024-03-01 12:00:00"),
        ("90003", "导入丙", None, "2024-02-01 10:00:00", "owner2", None, None, None, 990000, 3, None),
        (
            "90004",
            "导入丁",
            None,
            "2024-02-01 10:00:00",
            "owner2",
            None,
            None,
            None,
            5000,
            1,
            "2026-03-01 08:00:00",
        ),
    ]
    # Members with a member export's totals and order rows too (docs/metrics.md, the history rule):
    # 17 orders and 854.50 up to 2026-04-01 12:00 (成长值 8545), an order covered by them and
    # orders after them; totals without a last order time; a last order given as a date.
    members += [
        ("90008", "导入辛", None, None, "owner1", None, None, None, 3000, 2, "2026-01-10 12:00:00"),
        ("90009", "导入壬", None, None, "owner1", None, None, None, 29000, 2, "2026-03-01 10:00:00"),
        ("90005", "导入戊", None, "2024-02-01 10:00:00", "owner1", None, None, 8545, 85450, 17, "2026-04-01 12:00:00"),
        ("90006", "导入己", None, None, "owner1", None, None, None, 50000, 4, None),
        ("90007", "导入庚", None, None, "owner2", None, None, 100, 1000, 1, "2026-02-01 00:00:00"),
    ]
    orders += [
        ("90005-a", "90005", "2026-03-15 10:00:00", 5000, 1),  # covered: in the 17
        ("90005-b", "90005", "2026-04-01 12:00:00", 3000, 1),  # the last order itself: covered
        ("90005-c", "90005", "2026-05-02 09:00:00", 2000, 1),  # after: on top
        ("90005-d", "90005", "2026-05-03 09:00:00", 9900, 0),  # after, but refunded
        ("90006-a", "90006", "2025-06-01 09:00:00", 20000, 1),  # before the totals' import: covered
        ("90006-b", "90006", "2026-01-05 09:00:00", 3000, 1),  # after it: on top
        ("90007-a", "90007", "2026-02-01 15:00:00", 1000, 1),  # the last order's day: covered
        ("90007-b", "90007", "2026-02-02 15:00:00", 700, 1),
        # Orders after the totals take the member over the silver threshold on 2026-04-10.
        ("90009-a", "90009", "2026-04-01 10:00:00", 500, 1),
        ("90009-b", "90009", "2026-04-10 10:00:00", 800, 1),
        # The orders the totals cover are all stored: they tell the same history in full.
        ("90008-a", "90008", "2025-12-01 10:00:00", 1000, 1),
        ("90008-b", "90008", "2026-01-10 12:00:00", 2000, 1),
        ("90008-c", "90008", "2026-03-01 12:00:00", 500, 1),
    ]
    # When the totals of a member export were imported: totals without a last order time cover the
    # orders paid up to then.
    totals_as_of = [("90006", "2025-12-01 08:00:00"), ("90003", "2024-06-01 08:00:00")]
    return {"members": members, "orders": orders, "activity": activity, "totals_as_of": totals_as_of}


def insert(db: Path, rows: dict[str, list[tuple[Any, ...]]]) -> None:
    conn = sqlite3.connect(db)
    with conn:
        conn.executemany(
            "INSERT INTO members (member_id, name, phone, joined_at, owner, tags, points, growth,"
            " total_spent_fen, order_count, last_order_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            rows["members"],
        )
        conn.executemany(
            "INSERT INTO orders (order_id, member_id, paid_at, amount_fen, counted) VALUES (?,?,?,?,?)",
            rows["orders"],
        )
        conn.executemany(
            "INSERT OR IGNORE INTO activity (date, group_id, member_id, messages, images)"
            " VALUES (?,?,?,?,?)",
            rows["activity"],
        )
        conn.executemany("UPDATE members SET totals_as_of = ? WHERE member_id = ?",
                         [(at, mid) for mid, at in rows.get("totals_as_of", [])])
    conn.close()


def reference(rows: dict[str, list[tuple[Any, ...]]], pb: Playbook, d: date) -> dict[str, dict[str, Any]]:
    gpy = pb.tiers.growth_per_yuan
    out: dict[str, dict[str, Any]] = {}
    totals_as_of = dict(rows.get("totals_as_of", []))
    for mid, _name, _phone, joined, owner, _tags, points, _growth, spent, count, last_at in rows["members"]:
        if joined and date.fromisoformat(joined[:10]) > d:
            continue
        mine = [o for o in rows["orders"] if o[1] == mid]
        counted = sorted(
            (o for o in mine if o[4] == 1 and date.fromisoformat(o[2][:10]) <= d), key=lambda o: o[2]
        )
        days = [date.fromisoformat(o[2][:10]) for o in counted]
        r: dict[str, Any] = {"member_id": mid, "owner": owner, "points": points}
        n = max(count or 0, 1 if (spent or 0) > 0 else 0)
        last = last_at[:10] if last_at else None
        if last_at is None:
            # Totals without a last order time cover the orders up to their import (every order
            # when that is unknown).
            cover = totals_as_of.get(mid, "9999")
        elif last_at[11:] in ("", "00:00:00"):
            cover = f"{last} 23:59:59"
        else:
            cover = last_at
        covered = [o for o in counted if o[2] <= cover]
        applies = (
            bool(count or spent)
            and (last is None or date.fromisoformat(last) <= d)
            and not (len(covered) >= n and sum(o[3] for o in covered) >= (spent or 0))
        )
        if not applies:
            spend = sum(o[3] for o in counted)
            in365 = [o for o, day in zip(counted, days, strict=True) if (d - day).days <= 364]
            r |= {
                "basis": "orders" if mine else "none",
                "orders_total": len(counted),
                "spend_total": spend,
                "purchase_days": len(set(days)),
                "first_order_date": min(days).isoformat() if days else None,
                "last_order_date": max(days).isoformat() if days else None,
                "orders_365": len(in365),
                "spend_365": sum(o[3] for o in in365),
                "growth": spend * gpy // 100,
            }
        else:
            # The history rule: the totals cover every order up to their last order time (a date
            # alone covers its whole day), or up to their import; later orders come on top.
            after = [o for o in counted if o[2] > cover]
            after_days = [date.fromisoformat(o[2][:10]) for o in after]
            after365 = [o for o in after if (d - date.fromisoformat(o[2][:10])).days <= 364]
            old = last is not None and (d - date.fromisoformat(last)).days > 364
            base365 = 0 if old else (1 if n == 1 and last else None)
            spend365 = 0 if old else (spent if n == 1 and last else None)
            first = last if n == 1 else None
            if n != 1 and last and days and min(days).isoformat() <= last:
                first = min(days).isoformat()
            spend = (spent or 0) + sum(o[3] for o in after)
            r |= {
                "basis": "imported",
                "orders_total": n + len(after),
                "spend_total": spend,
                "purchase_days": 1 + len(set(after_days)) if n == 1 else None,
                "first_order_date": first,
                "last_order_date": max(after_days).isoformat() if after else last,
                "orders_365": None if base365 is None else base365 + len(after365),
                "spend_365": None if spend365 is None else spend365 + sum(o[3] for o in after365),
                "growth": spend * gpy // 100,
            }
        last_d, first_d = r["last_order_date"], r["first_order_date"]
        r["recency_days"] = (d - date.fromisoformat(last_d)).days if last_d else None
        r["tenure_days"] = (d - date.fromisoformat(first_d)).days if first_d else None
        acts = [a for a in rows["activity"] if a[2] == mid and 0 <= (d - date.fromisoformat(a[0])).days <= 29]
        r["messages_30"] = sum(a[3] for a in acts)
        r["images_30"] = sum(a[4] for a in acts)
        reached = [lv for lv in pb.tiers.levels if r["growth"] >= lv.min]
        r["tier"] = max(reached, key=lambda lv: lv.min).id
        top = max(reached, key=lambda lv: lv.min)
        r["tier_since"] = None
        if r["basis"] == "imported" and cover != "9999" and top.min > min(lv.min for lv in pb.tiers.levels):
            # The tier an order after the totals reached: from the totals' spend on.
            running = spent or 0
            if running * gpy // 100 < top.min:
                for o in after:
                    running += o[3]
                    if running * gpy // 100 >= top.min:
                        r["tier_since"] = o[2][:10]
                        break
        if r["basis"] == "orders" and top.min > min(lv.min for lv in pb.tiers.levels):
            running = 0
            for o in counted:
                running += o[3]
                if running * gpy // 100 >= top.min:
                    r["tier_since"] = o[2][:10]
                    break
        r["lifecycle"] = next(s.id for s in pb.lifecycle if evaluate(s.when, r))
        nth = [o[2][:10] for o in counted]
        since = {
            "prospect": joined[:10] if joined else None,
            "churned": (date.fromisoformat(last_d) + timedelta(days=181)).isoformat() if last_d else None,
            "decline": (date.fromisoformat(last_d) + timedelta(days=61)).isoformat() if last_d else None,
            "growth": first_d,
            "mature": nth[1] if len(nth) > 1 else None,
        }
        r["segment_since"] = since[r["lifecycle"]]
        k = pb.koc
        r["koc"] = int(
            r["orders_total"] >= k.min_orders
            and (r["messages_30"] >= k.min_messages_30 or r["images_30"] >= k.min_images_30)
        )
        out[mid] = r
    _reference_rfm(out, pb.rfm.scores)
    return out


def _reference_rfm(out: dict[str, dict[str, Any]], scores: int) -> None:
    pop = [r for r in out.values() if r["orders_total"] > 0 and r["recency_days"] is not None]
    for r in out.values():
        r |= {"rfm_r": None, "rfm_f": None, "rfm_m": None, "rfm_class": None}
    n = len(pop)
    means = {key: sum(r[key] for r in pop) / n for key in ("recency_days", "orders_total", "spend_total")}
    for r in pop:
        # rank = 1 + how many are strictly worse; score = 1 + (rank - 1) * scores // n
        r["rfm_r"] = 1 + sum(1 for o in pop if o["recency_days"] > r["recency_days"]) * scores // n
        r["rfm_f"] = 1 + sum(1 for o in pop if o["orders_total"] < r["orders_total"]) * scores // n
        r["rfm_m"] = 1 + sum(1 for o in pop if o["spend_total"] < r["spend_total"]) * scores // n
        high_r = r["recency_days"] < means["recency_days"]
        high_f = r["orders_total"] > means["orders_total"]
        kind = (
            "value" if high_r and high_f else "development" if high_r else "retain" if high_f else "winback"
        )
        r["rfm_class"] = ("important_" if r["spend_total"] > means["spend_total"] else "general_") + kind


@pytest.fixture
def loaded(workspace: Path) -> tuple[sqlite3.Connection, Playbook, dict[str, list[tuple[Any, ...]]]]:
    rows = build_rows()
    insert(workspace / "privdom.db", rows)
    return store.connect(workspace / "privdom.db"), load_playbook(workspace / "sops"), rows


@pytest.mark.parametrize("as_of", [D1, D2])
def test_metrics_match_the_reference(loaded: Any, as_of: date) -> None:
    conn, pb, rows = loaded
    metrics.materialize(conn, pb, as_of)
    got = {r["member_id"]: dict(r) for r in conn.execute("SELECT * FROM member_metrics")}
    want = reference(rows, pb, as_of)
    assert set(got) == set(want)
    for mid, expected in want.items():
        actual = {key: got[mid][key] for key in expected}
        assert actual == expected, mid


def test_the_dataset_covers_the_edge_cases(loaded: Any) -> None:
    conn, pb, rows = loaded
    metrics.materialize(conn, pb, D2)
    one = conn.execute
    assert one("SELECT COUNT(*) FROM orders WHERE amount_fen = 0 AND counted = 1").fetchone()[0] > 0
    assert one("SELECT COUNT(*) FROM orders WHERE counted = 0").fetchone()[0] > 0
    assert one("SELECT COUNT(*) FROM orders WHERE paid_at > '2026-01-01'").fetchone()[0] > 0
    assert one("SELECT COUNT(*) FROM member_metrics WHERE purchase_days < orders_total").fetchone()[0] > 0
    # Aggregates whose last order is after the date are not counted as of that date.
    assert one("SELECT COUNT(*) FROM member_metrics WHERE basis = 'imported'").fetchone()[0] == 3
    assert {r[0] for r in one("SELECT DISTINCT lifecycle FROM member_metrics")} >= {
        "prospect",
        "growth",
        "churned",
    }
    assert one("SELECT member_id FROM member_metrics WHERE member_id = '00100'").fetchone() is not None


@pytest.mark.parametrize(("member_id", "expected"), [
    # The example of docs/metrics.md: 17 orders and 854.50 up to 2026-04-01 (成长值 8545), then one
    # 20.00 order: 18 orders, 874.50, gold; the covered orders and the refunded one add nothing.
    ("90005", ("imported", 18, 87450, 8745, "gold", "2026-05-02", None)),
    # Every order the totals cover is stored: the orders tell the same history in full.
    ("90008", ("orders", 3, 3500, 350, "regular", "2026-03-01", 3)),
    # Totals without a last order time (4 orders, 500.00) imported on 2025-12-01: the order before
    # that is in them, the one after comes on top.
    ("90006", ("imported", 5, 53000, 5300, "silver", "2026-01-05", None)),
])
def test_export_totals_never_shrink_when_orders_arrive(loaded: Any, member_id: str, expected: tuple[Any, ...]) -> None:
    conn, pb, _rows = loaded
    metrics.materialize(conn, pb, D1)
    row = conn.execute(
        "SELECT basis, orders_total, spend_total, growth, tier, last_order_date, orders_365 FROM member_metrics"
        " WHERE member_id = ?",
        (member_id,),
    ).fetchone()
    assert tuple(row) == expected


@pytest.mark.parametrize(("metric", "tier"), [("growth", "regular"), ("imported_growth", "silver"),
                                               ("max_growth", "silver")])
def test_the_tier_metric_may_be_the_exports_growth(loaded: Any, metric: str, tier: str) -> None:
    """A member whose export gives a growth value above the one computed from spend."""
    conn, pb, _rows = loaded
    conn.execute("UPDATE members SET growth = 3000 WHERE member_id = '90007'")
    pb = pb.model_copy(update={"tiers": pb.tiers.model_copy(update={"metric": metric})})
    metrics.materialize(conn, pb, D1, ranks=False)
    row = conn.execute("SELECT growth, tier FROM member_metrics WHERE member_id = '90007'").fetchone()
    assert tuple(row) == (170, tier)  # 10.00 + 7.00 spent; imported: 3000 + 70


def test_materialize_replaces_the_table(loaded: Any) -> None:
    conn, pb, _ = loaded
    metrics.materialize(conn, pb, D1)
    first = conn.execute("SELECT COUNT(*) FROM member_metrics").fetchone()[0]
    metrics.materialize(conn, pb, D2)
    metrics.materialize(conn, pb, D1)
    assert conn.execute("SELECT COUNT(*) FROM member_metrics").fetchone()[0] == first


def test_nth_order_dates(loaded: Any) -> None:
    conn, _, rows = loaded
    got = metrics.nth_order_dates(conn, 2, D2)
    want = {}
    for mid in {o[1] for o in rows["orders"]}:
        days = sorted(
            o[2] for o in rows["orders"] if o[1] == mid and o[4] == 1 and o[2][:10] <= D2.isoformat()
        )
        if len(days) >= 2:
            want[mid] = days[1][:10]
    assert got == want


def test_windowed_spend_tiers_and_skipped_ranks(loaded: Any) -> None:
    conn, pb, rows = loaded
    tiers = pb.tiers.model_copy(update={"metric": "spend_total", "downgrade_window_days": 90})
    windowed = pb.model_copy(update={"tiers": tiers})
    metrics.materialize(conn, windowed, D1, ranks=False)
    got = {r["member_id"]: dict(r) for r in conn.execute("SELECT * FROM member_metrics")}
    want = reference(rows, pb, D1)
    for mid, r in want.items():
        if r["basis"] != "orders":
            continue
        spend = sum(
            o[3]
            for o in rows["orders"]
            if o[1] == mid and o[4] == 1 and 0 <= (D1 - date.fromisoformat(o[2][:10])).days < 90
        )
        level = max((lv for lv in tiers.levels if spend >= lv.min * 100), key=lambda lv: lv.min)
        assert (got[mid]["tier"], got[mid]["tier_metric"]) == (level.id, spend), mid
        assert got[mid]["rfm_class"] is None and got[mid]["koc_rank"] is None
        assert got[mid]["lifecycle"] == r["lifecycle"]


def test_lifecycle_over_koc_and_tier_and_not_over_rfm(loaded: Any) -> None:
    conn, pb, rows = loaded
    segments = [
        Segment(id="koc", zh="达人", en="KOC", when={"koc": {"eq": True}}),
        Segment(id="gold", zh="金卡", en="Gold", when={"tier": {"in": ["gold"]}}),
        Segment(id="rest", zh="其他", en="Rest"),
    ]
    metrics.materialize(conn, pb.model_copy(update={"lifecycle": segments}), D1)
    want = reference(rows, pb, D1)
    got = dict(conn.execute("SELECT member_id, lifecycle FROM member_metrics").fetchall())
    for mid, r in want.items():
        assert got[mid] == ("koc" if r["koc"] else "gold" if r["tier"] == "gold" else "rest"), mid
    bad = [Segment(id="vip", zh="贵宾", en="VIP", when={"any": [{"rfm_class": {"eq": "important_value"}}]})]
    with pytest.raises(PrivdomError) as err:
        metrics.materialize(conn, pb.model_copy(update={"lifecycle": bad}), D1)
    assert err.value.message == "lifecycle[0] (vip).when uses rfm_class, decided only after the lifecycle"


def test_an_order_after_export_totals_dates_the_tier_it_reaches(loaded: Any) -> None:
    conn, pb, _rows = loaded
    metrics.materialize(conn, pb, D1)
    row = conn.execute(
        "SELECT basis, growth, tier, tier_since FROM member_metrics WHERE member_id = '90009'"
    ).fetchone()
    assert tuple(row) == ("imported", 3030, "silver", "2026-04-10")
