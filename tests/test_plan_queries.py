"""The planner's n-th order query against a brute force over the same orders: ties in the same
second, orders that do not count, orders with no time, and orders after the planned day."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import date, timedelta
from pathlib import Path

import pytest

from privdom.store import plan_queries as q
from privdom.store import schema

DAY = date(2026, 11, 23)


def _orders(seed: int) -> list[tuple[str, str, str | None, int]]:
    rng = random.Random(seed)
    out = []
    for m in range(300):
        at = None
        for i in range(rng.randint(0, 7)):
            if at is None or rng.random() > 0.15:  # else: the same second as the order before
                paid_day = DAY - timedelta(days=rng.randint(-3, 40))  # a few after the planned day
                at = f"{paid_day} {rng.randint(8, 21):02d}:{rng.choice(['00', '30'])}:00"
            paid = None if rng.random() < 0.03 else at
            out.append((f"O{m}-{i}", f"M{m:03d}", paid, 0 if rng.random() < 0.1 else 1))
    return out


def _brute(orders: list[tuple[str, str, str | None, int]], n: int, lo: str, hi: str) -> dict[str, str]:
    """member -> date of an order with exactly n-1 strictly earlier counted orders, inside lo..hi."""
    times = defaultdict(list)
    for _oid, member, paid, counted in orders:
        if counted and paid is not None:
            times[member].append(paid)
    out = {}
    for member, ts in times.items():
        for t in ts:
            if lo <= t[:10] <= hi and sum(u < t for u in ts) == n - 1:
                out[member] = t[:10]
    return out


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_nth_order_events_match_a_brute_force(tmp_path: Path, seed: int) -> None:
    conn = schema.connect(tmp_path / "privdom.db", create=True)
    try:
        orders = _orders(seed)
        conn.executemany("INSERT INTO orders (order_id, member_id, paid_at, counted) VALUES (?, ?, ?, ?)", orders)
        # As the metrics snapshot has it: the last counted order on or before the planned day.
        conn.execute(
            "CREATE TEMP TABLE member_metrics AS SELECT member_id, NULL AS owner,"
            " substr(MAX(paid_at), 1, 10) AS last_order_date FROM orders"
            " WHERE counted = 1 AND paid_at IS NOT NULL AND paid_at < date(?, '+1 day') GROUP BY member_id",
            (DAY.isoformat(),),
        )
        found = 0
        for n in (2, 3, 4):
            for back, width in ((0, 0), (1, 2), (5, 10), (0, 40)):
                hi = DAY - timedelta(days=back)
                window = q.Window((hi - timedelta(days=width)).isoformat(), hi.isoformat())
                rows = q.nth_order_events(conn, n, window, q.MemberFilter(), "店长", DAY.isoformat())
                got = {r["member_id"]: r["event_date"] for r in rows}
                assert got == _brute(orders, n, window.lo, window.hi), (n, window)
                assert all(r["owner"] == "店长" and r["group_id"] is None for r in rows)
                found += len(got)
        assert found > 100  # the data really has n-th orders in the windows
    finally:
        conn.close()
