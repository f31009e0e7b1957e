"""A patched metrics snapshot against a full build, column for column, after random imports.

The first command of a new date, or the first after an import, copies the latest snapshot and
computes only the members whose rows may differ (store/metrics_patch.py). The full build is the
reference: after every step of a random sequence of imports (new orders, refunds and status
changes, orders known only by phone and the member export that adopts them, member edits,
activity, re-imports) and dates, both must give the same rows.
"""

from __future__ import annotations

import csv
import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from privdom import metrics, store
from privdom.ingest.loader import import_file
from privdom.playbook import Playbook, load_playbook
from privdom.store import metrics as metrics_sql
from privdom.store import metrics_cache, metrics_patch
from privdom.workspace import init_workspace

START = date(2026, 11, 20)
MEMBERS = [f"{i:06d}" for i in range(1, 25)]
MEMBERS_HEADER = ["会员卡号", "手机号", "注册时间", "添加人", "累计消费金额", "累计消费次数", "最后消费时间"]
ORDERS_HEADER = ["订单号", "会员卡号", "手机号", "支付时间", "实付金额", "订单状态"]
ACTIVITY_HEADER = ["日期", "群ID", "会员卡号", "发言数", "图片数"]


class Brand:
    """A small workspace, its playbook, and the files imported into it so far."""

    def __init__(self, folder: Path, window: int | None = None) -> None:
        self.folder = folder
        self.db = folder / "privdom.db"
        init_workspace(self.db, folder / "sops")
        if window is not None:  # tiers over the last `window` days: spend leaves the tier's window too
            book = folder / "sops" / "playbook.yaml"
            text = book.read_text(encoding="utf-8")
            assert "  growth_per_yuan: 10\n" in text
            book.write_text(text.replace("  growth_per_yuan: 10\n",
                                         f"  growth_per_yuan: 10\n  downgrade_window_days: {window}\n"),
                            encoding="utf-8")
        self.conn = store.connect(self.db)
        self.playbook: Playbook = load_playbook(folder / "sops")
        self.files: list[tuple[str, Path]] = []
        self.orders: list[str] = []
        self.patched = 0

    def write(self, kind: str, header: list[str], rows: list[list[Any]]) -> Path:
        path = self.folder / f"{kind}-{len(self.files)}.csv"
        with open(path, "w", encoding="utf-8", newline="") as fh:
            out = csv.writer(fh)
            out.writerow(header)
            out.writerows(rows)
        return path

    def load(self, kind: str, path: Path) -> None:
        import_file(self.conn, kind, path, timezone="Asia/Shanghai", started_at=datetime(2026, 11, 20, 8))
        self.files.append((kind, path))

    def rows(self) -> list[tuple[Any, ...]]:
        cursor = self.conn.execute("SELECT * FROM member_metrics ORDER BY member_id")
        return [tuple(r) for r in cursor]

    def check(self, as_of: date) -> None:
        """The snapshot the commands read (patched when it can be) equals a full build."""
        metrics.materialize(self.conn, self.playbook, as_of)
        patched = self.rows()
        # What the snapshot keeps for the next patch beside the rows commands read, too.
        kept = ", ".join(("member_id", *metrics_sql.KEPT_INPUTS))
        patched_kept = self.conn.execute(
            f"SELECT {kept} FROM {metrics_cache.READING}.member_metrics ORDER BY member_id").fetchall()
        metrics_sql.build_temp(self.conn, metrics.metrics_query(self.playbook, as_of))
        full = self.rows()
        assert len(patched) == len(full)
        for got, want in zip(patched, full, strict=True):
            assert got == want, dict(zip(metrics_sql.TABLE_COLUMNS, zip(got, want, strict=True), strict=True))
        assert patched_kept == self.conn.execute(f"SELECT {kept} FROM temp._mm_base ORDER BY member_id").fetchall()


@contextmanager
def counting_patches(brand: Brand) -> Iterator[None]:
    real, share = metrics_patch.patch, metrics_patch.MAX_SHARE
    metrics_patch.MAX_SHARE = 1.0  # a small brand: patch however many members changed

    def counted(*args: Any) -> bool:
        done = real(*args)
        brand.patched += done
        return done

    metrics_cache.patch.patch = counted  # type: ignore[assignment]
    try:
        yield
    finally:
        metrics_cache.patch.patch = real  # type: ignore[assignment]
        metrics_patch.MAX_SHARE = share


def _time(day: date, minute: int) -> str:
    return f"{day} {8 + minute // 60:02d}:{minute % 60:02d}:00"


def seed(brand: Brand) -> None:
    """Two years of orders for most members, activity for some, an export's totals for two."""
    members = [[m, f"139{i:08d}", _time(START - timedelta(days=700 - i * 20), i), f"owner{i % 3}", "", "", ""]
               for i, m in enumerate(MEMBERS)]
    members[-1][4:] = ["388.00", "3", f"{START - timedelta(days=200)} 10:00:00"]  # an export's totals
    members[-2][4:] = ["99.00", "1", f"{START - timedelta(days=364)} 10:00:00"]  # leaving the 365 days
    # Totals over orders also stored (357 and 410 days back), with one order after them (43 days
    # back): the orders leaving the 365 days are in the totals, not counted again.
    members[-3][4:] = ["999.00", "1", f"{START - timedelta(days=100)} 10:00:00"]
    brand.load("members", brand.write("members", MEMBERS_HEADER, members))
    orders = []
    for i, m in enumerate(MEMBERS[:-2]):
        for k in range(i % 6):
            order = f"O{m}{k}"
            day = START - timedelta(days=(i * 37 + k * 53) % 420)
            orders.append([order, m, "", _time(day, i + k), f"{(i * 13 + k * 7) % 90 + 10}.00", "已完成"])
            brand.orders.append(order)
    brand.load("orders", brand.write("orders", ORDERS_HEADER, orders))
    activity = [[str(START - timedelta(days=(i * 3) % 35)), "G1", m, str(i % 9), str(i % 4)]
                for i, m in enumerate(MEMBERS[::2])]
    brand.load("activity", brand.write("activity", ACTIVITY_HEADER, activity))


member = st.sampled_from(MEMBERS + ["900001", "900002"])  # two members only orders make
day_back = st.integers(min_value=-2, max_value=400)
new_orders = st.tuples(st.just("orders"), st.lists(st.tuples(member, day_back, st.integers(1, 300), st.booleans()),
                                                    min_size=1, max_size=4))
status_changes = st.tuples(st.just("status"), st.lists(st.tuples(st.integers(0, 10_000), st.booleans(),
                                                                 st.integers(0, 300)), min_size=1, max_size=3))
by_phone = st.tuples(st.just("by_phone"), st.integers(0, 3), day_back)
member_edits = st.tuples(st.just("members"), st.lists(st.tuples(member, st.integers(-3, 900), st.integers(0, 2)),
                                                      min_size=1, max_size=3))
activity = st.tuples(st.just("activity"), st.lists(st.tuples(member, st.integers(-1, 40), st.integers(0, 30)),
                                                   min_size=1, max_size=3))
reimport = st.tuples(st.just("reimport"), st.integers(0, 100))
move = st.tuples(st.just("date"), st.integers(-1, 40))
steps = st.lists(st.one_of(new_orders, status_changes, by_phone, member_edits, activity, reimport, move),
                 min_size=1, max_size=6)


def apply(brand: Brand, step: tuple[Any, ...], today: date, serial: int) -> date:
    """One import (or a new date); returns the date the next check is for."""
    kind, arg = step[0], step[1]
    if kind == "date":
        return today + timedelta(days=arg)
    if kind == "orders":
        rows = []
        for i, (m, back, yuan, refunded) in enumerate(arg):
            order = f"N{serial}-{i}"
            brand.orders.append(order)
            rows.append([order, m, "", _time(today - timedelta(days=back), i), f"{yuan}.00",
                         "退款" if refunded else "已完成"])
        brand.load("orders", brand.write("orders", ORDERS_HEADER, rows))
    elif kind == "status":  # refunds, a refund undone, a corrected amount
        rows = [[brand.orders[pick % len(brand.orders)], "", "", "", f"{yuan}.00" if yuan else "",
                 "退款" if refunded else "已完成"] for pick, refunded, yuan in arg]
        brand.load("orders", brand.write("orders", ORDERS_HEADER, rows))
    elif kind == "by_phone":  # orders known by phone only, then the export that names their member
        phone = f"13800000{arg:03d}"
        day = today - timedelta(days=step[2])
        order = [f"P{serial}", "", phone, _time(day, 1), "66.00", "已完成"]
        brand.load("orders", brand.write("orders", ORDERS_HEADER, [order]))
        brand.orders.append(f"P{serial}")
        row = [f"7{arg:05d}", phone, _time(day - timedelta(days=3), 0), "owner1", "", "", ""]
        brand.load("members", brand.write("members", MEMBERS_HEADER, [row]))
    elif kind == "members":  # joined dates (some in the future), owners, an export's last order
        rows = [[m, "", _time(today - timedelta(days=back), 2), f"owner{owner}", "120.00" if owner == 2 else "",
                 "2" if owner == 2 else "", _time(today - timedelta(days=back // 2), 3) if owner == 2 else ""]
                for m, back, owner in arg]
        brand.load("members", brand.write("members", MEMBERS_HEADER, rows))
    elif kind == "activity":
        rows = [[str(today - timedelta(days=back)), "G1", m, str(n), str(n // 3)] for m, back, n in arg]
        brand.load("activity", brand.write("activity", ACTIVITY_HEADER, rows))
    elif kind == "reimport" and brand.files:
        again, path = brand.files[arg % len(brand.files)]
        brand.load(again, path)
    return today


@pytest.mark.parametrize("window", [None, 90])
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sequence=steps)
def test_a_patched_snapshot_equals_a_full_build(window: int | None, sequence: list[tuple[Any, ...]]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        brand = Brand(Path(folder), window)
        try:
            seed(brand)
            today = START
            with counting_patches(brand):
                brand.check(today)
                for serial, step in enumerate(sequence):
                    today = apply(brand, step, today, serial)
                    brand.check(today)
        finally:
            brand.conn.close()


def test_the_morning_after_an_import_is_a_patch(tmp_path: Path) -> None:
    """The cron's morning: yesterday's snapshot, a day's orders, the plan of the next date."""
    brand = Brand(tmp_path)
    seed(brand)
    with counting_patches(brand):
        brand.check(START)
        day = START + timedelta(days=1)
        rows = [[f"D{i}", m, "", _time(day, i), "45.00", "已完成"] for i, m in enumerate(MEMBERS[:3])]
        brand.load("orders", brand.write("orders", ORDERS_HEADER, rows))
        brand.check(START + timedelta(days=2))
    assert brand.patched == 1
    assert len(metrics_cache.snapshots(brand.db)) == metrics_cache.KEEP
    brand.conn.close()


def test_a_first_import_into_an_empty_table_notes_every_member_once(tmp_path: Path) -> None:
    """The load of a first import drops the change triggers as it drops the indexes: one row says
    "every member" instead of one per record, and the triggers are there again after it."""
    brand = Brand(tmp_path)
    seed(brand)
    changes = brand.conn.execute("SELECT member_id FROM member_changes").fetchall()
    loaded = len(MEMBERS) + len(brand.orders)
    assert len(changes) < loaded
    assert [r[0] for r in changes].count(None) >= 2  # the members and orders loads
    triggers = {r[0] for r in brand.conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")}
    tables, writes = ("members", "orders", "activity"), ("insert", "update", "delete")
    assert {f"{t}_changes_{w}" for t in tables for w in writes} <= triggers
    brand.conn.close()


def test_a_row_changed_by_hand_is_noted(tmp_path: Path) -> None:
    brand = Brand(tmp_path)
    seed(brand)
    last = metrics_cache.last_change(brand.conn)
    with sqlite3.connect(brand.db) as other:
        other.execute("UPDATE orders SET amount_fen = amount_fen + 1 WHERE order_id = ?", (brand.orders[0],))
        other.execute("UPDATE orders SET store = store WHERE order_id = ?", (brand.orders[1],))  # no change
    noted = [tuple(r) for r in brand.conn.execute("SELECT member_id FROM member_changes WHERE seq > ?", (last,))]
    owner = brand.conn.execute("SELECT member_id FROM orders WHERE order_id = ?", (brand.orders[0],)).fetchone()[0]
    assert noted == [(owner,)]
    brand.conn.close()


@pytest.mark.parametrize("lifecycle, expected", [
    ([{"id": "a", "when": {"recency_days": {"gt": 60}}},
      {"id": "b", "when": {"any": [{"tenure_days": {"between": [3, 9]}}]}}, {"id": "c"}],
     {"recency_days": (60,), "tenure_days": (3, 9)}),
    ([{"id": "a", "when": {"recency_days": {"in": [7, 30]}}}, {"id": "c"}],
     {"recency_days": (7, 30), "tenure_days": ()}),
    ([{"id": "a", "when": {"recency_days": {"is_null": True}}}, {"id": "c"}], {"recency_days": (), "tenure_days": ()}),
])
def test_the_day_counts_lifecycle_conditions_compare_with(
    lifecycle: list[dict[str, Any]], expected: dict[str, tuple[int, ...]]
) -> None:
    from privdom.playbook.models import Segment
    from privdom.segments import days_compared

    class Book:
        pass

    book: Any = Book()
    book.lifecycle = [Segment.model_validate({"zh": s["id"], "en": s["id"], **s}) for s in lifecycle]
    assert {m: days_compared(book, m) for m in expected} == expected


def test_an_import_forgets_all_but_the_last_changes_and_a_patch_of_a_base_before_them_declines(
    tmp_path: Path,
) -> None:
    from privdom.store.schema import KEPT_CHANGES

    brand = Brand(tmp_path)
    seed(brand)
    brand.check(START)
    with sqlite3.connect(brand.db) as other:  # as if KEPT_CHANGES more changes had been noted
        other.execute("UPDATE sqlite_sequence SET seq = seq + ? WHERE name = 'member_changes'", (KEPT_CHANGES,))
    rows = [["D1", MEMBERS[0], "", _time(START, 5), "45.00", "已完成"]]
    brand.load("orders", brand.write("orders", ORDERS_HEADER, rows))
    first, count = brand.conn.execute("SELECT MIN(seq), COUNT(*) FROM member_changes").fetchone()
    assert count == 1 and first == metrics_cache.last_change(brand.conn)  # the day's order only
    with counting_patches(brand):
        brand.check(START + timedelta(days=1))
    assert brand.patched == 0  # the changes after the base's are not all there: a full build
    brand.conn.close()


def test_the_tier_date_moves_when_the_order_that_reached_it_leaves_the_tiers_window(tmp_path: Path) -> None:
    """Tiers over the last 90 days: the member stays silver, but the running spend reaches the
    threshold on a later order once the first one leaves the window."""
    brand = Brand(tmp_path, window=90)
    seed(brand)
    orders = [[f"T{i}", "000003", "", _time(START - timedelta(days=back), i), yuan, "已完成"]
              for i, (back, yuan) in enumerate([(80, "200.00"), (40, "150.00"), (5, "200.00")])]
    brand.load("orders", brand.write("orders", ORDERS_HEADER, orders))
    since = []
    with counting_patches(brand):
        for day in (START, START + timedelta(days=15)):
            brand.check(day)
            since.append(brand.conn.execute(
                "SELECT tier_since FROM member_metrics WHERE member_id = '000003'").fetchone()[0])
    assert brand.patched == 1
    assert since == [str(START - timedelta(days=40)), str(START - timedelta(days=5))]
    brand.conn.close()
