# ruff: noqa: E501 - rows of CSV exports read best on one line each
"""A brand unlike the example brand, run as a new operator would: exports of other systems
(WeCom customers, Youzan orders, POS members) with their own quirks, then the morning flow."""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import openpyxl

from import_helpers import rows, write
from test_plan_days import run_mornings


def _member_tasks(plan: dict[str, Any]) -> list[tuple[str, str]]:
    return sorted((t["rule"], t["id"]) for t in plan["tasks"] if t["member_id"])


def test_a_member_given_an_id_keeps_its_saved_tasks_under_the_new_id(cli: Callable[..., Any], workspace: Path) -> None:
    """Orders keyed by phone, a saved plan, then a member export that gives the member a card
    number: the saved tasks (a welcome and a tier congratulation) are the same tasks under the new
    id, never issued again on the same or a later morning."""
    db = workspace / "privdom.db"
    cli("import", "orders", str(write(workspace / "o.csv", ["订单号,手机号,支付时间,实付金额,订单状态", "Q1,13800000009,2026-11-20 10:00:00,320.00,已完成"])))
    first = cli("plan", "--date", "2026-11-21", "--save", "--format", "json").json()
    saved = _member_tasks(first)
    assert [rule for rule, _ in saved] == ["newcomer-welcome", "tier-up-congrats"]
    report = cli("import", "members", str(write(workspace / "m.csv", ["会员卡号,手机号,客户名称", "M9,13800000009,新会员"])), "--format", "json").json()
    assert report["members_adopted"] == 1
    again = cli("plan", "--date", "2026-11-21", "--save", "--format", "json").json()
    assert [(t["rule"], t["member_id"], t["existing"]) for t in again["tasks"] if t["member_id"]] == [
        ("newcomer-welcome", "M9", True), ("tier-up-congrats", "M9", True)]
    assert again["deferred"] == []
    for day in ("2026-11-22", "2026-11-23", "2026-11-24"):
        later = cli("plan", "--date", day, "--save", "--format", "json").json()
        issued = {t["rule"] for t in later["tasks"] + later["deferred"] if t["member_id"]}
        assert not issued & {"newcomer-welcome", "tier-up-congrats"}, day
    assert rows(db, "SELECT rule, member_id FROM tasks WHERE member_id IS NOT NULL ORDER BY rule") == [
        {"rule": "newcomer-welcome", "member_id": "M9"}, {"rule": "tier-up-congrats", "member_id": "M9"}]


def test_item_lines_of_one_order_add_up(cli: Callable[..., Any], workspace: Path) -> None:
    """A Youzan export of item lines (商品实付金额, one row per item of an order) stores each order
    once, at the sum of its counted items; an export of order amounts repeated on every item line
    (订单实付金额) stores the order's amount once."""
    db = workspace / "privdom.db"
    items = cli("import", "orders", str(write(workspace / "items.csv", [
        "订单号,买家手机号,买家付款时间,商品名称,商品实付金额,订单状态,退款状态",
        "E1,13800000001,2026-11-20 10:00:00,猫粮,100.00,交易成功,",
        "E1,13800000001,2026-11-20 10:00:00,猫砂,50.00,交易成功,",
        "E1,13800000001,2026-11-20 10:00:00,逗猫棒,20.00,交易成功,退款成功",
        "E2,13800000002,2026-11-21 10:00:00,狗粮,80.00,交易成功,",
    ])), "--format", "json").json()
    assert (items["read"], items["inserted"], items["merged"], items["rejected"]) == (4, 2, 2, 0)
    assert rows(db, "SELECT order_id, amount_fen, counted FROM orders ORDER BY 1") == [
        {"order_id": "E1", "amount_fen": 15000, "counted": 1}, {"order_id": "E2", "amount_fen": 8000, "counted": 1}]
    assert "猫粮" in rows(db, "SELECT extra FROM orders WHERE order_id = 'E1'")[0]["extra"]
    cli("import", "orders", str(write(workspace / "orders.csv", [
        "订单号,买家手机号,买家付款时间,商品名称,订单实付金额,订单状态",
        "E3,13800000003,2026-11-22 10:00:00,猫粮,150.00,交易成功",
        "E3,13800000003,2026-11-22 10:00:00,猫砂,150.00,交易成功",
    ])))
    assert rows(db, "SELECT amount_fen FROM orders WHERE order_id = 'E3'") == [{"amount_fen": 15000}]


def test_group_joins_imported_before_the_member_follow_the_member(cli: Callable[..., Any], workspace: Path) -> None:
    """WeCom's group-member export names customers by external_userid. Imported before the customer
    export that brings those customers (with a card number), the joins and the activity are the
    members' own: the member is in the group, and gets the group welcome."""
    db = workspace / "privdom.db"
    ext = "wmQaEarlyJoin0001xxxxxxxxxxxxxx"
    cli("import", "groups", str(write(workspace / "g.csv", ["群ID,群名称,群类型,群主,群人数,群上限,创建时间", "wrQ1,宠物福利1群,福利群,阿喵,10,200,2026-10-01 10:00:00"])))
    cli("import", "group-members", str(write(workspace / "gm.csv", ["群ID,external_userid,入群时间", f"wrQ1,{ext},2026-11-22 10:00:00"])))
    cli("import", "activity", str(write(workspace / "a.csv", ["日期,群ID,external_userid,发言数", f"2026-11-22,wrQ1,{ext},3"])))
    for name, card in (("m1.csv", "M1"), ("m2.csv", "M2")):  # the first import of members, then a later one
        cli("import", "members", str(write(workspace / name, ["会员卡号,外部联系人ID,客户名称,添加人,添加时间", f"{card},{ext if card == 'M1' else 'wmQaOther0002xxxxxxxxxxxxxxxxx'},豆豆妈,阿喵,2026-11-22 09:00:00"])))
    assert rows(db, "SELECT group_id, member_id FROM group_members") == [{"group_id": "wrQ1", "member_id": "M1"}]
    assert rows(db, "SELECT member_id, messages FROM activity") == [{"member_id": "M1", "messages": 3}]
    plan = cli("plan", "--date", "2026-11-23", "--format", "json").json()
    assert [t["member_id"] for t in plan["tasks"] if t["rule"] == "group-welcome"] == ["M1"]


def test_a_welcome_in_a_group_is_posted_by_the_groups_owner(cli: Callable[..., Any], workspace: Path) -> None:
    """The welcome is a post in the group the member joined: its owner (群主) makes it, whoever the
    member's owner is; in a group with no owner it stays with the member's owner."""
    cli("import", "groups", str(write(workspace / "g.csv", [
        "群ID,群名称,群类型,群主,群人数,群上限,创建时间",
        "wrA,宠物福利1群,福利群,阿喵,10,200,2026-10-01 10:00:00",
        "wrB,宠物福利2群,福利群,,10,200,2026-10-01 10:00:00",
    ])))
    cli("import", "members", str(write(workspace / "m.csv", [
        "会员卡号,客户名称,添加人,添加时间", "M1,豆豆妈,小王,2026-11-01 09:00:00", "M2,球球爸,小王,2026-11-01 09:00:00",
    ])))
    cli("import", "group-members", str(write(workspace / "gm.csv", [
        "群ID,会员卡号,入群时间", "wrA,M1,2026-11-22 10:00:00", "wrB,M2,2026-11-22 10:00:00",
    ])))
    plan = cli("plan", "--date", "2026-11-23", "--format", "json").json()
    welcomes = sorted((t["member_id"], t["group_id"], t["owner"]) for t in plan["tasks"] if t["rule"] == "group-welcome")
    assert welcomes == [("M1", "wrA", "阿喵"), ("M2", "wrB", "小王")]
    mine = cli("plan", "--date", "2026-11-23", "--owner", "阿喵", "--format", "json").json()
    assert [t["member_id"] for t in mine["tasks"] if t["rule"] == "group-welcome"] == ["M1"]


def test_unpaid_returned_and_refused_refunds_are_counted_as_they_are(cli: Callable[..., Any], workspace: Path) -> None:
    """Youzan and Weimob order exports hold orders never paid (等待买家付款, 待支付) and returned ones
    (已退货, 拒收): they are stored, never counted. A refund that was refused or withdrawn
    (退款关闭, 拒绝退款) leaves the order counted in full; a partial return still counts."""
    db = workspace / "privdom.db"
    statuses = {
        "U1": ("等待买家付款", ""), "U2": ("待支付", ""), "U3": ("未付款", ""),
        "R1": ("已退货", ""), "R2": ("拒收", ""), "R3": ("交易成功", "退款成功"),
        "C1": ("交易成功", "退款关闭"), "C2": ("交易成功", "拒绝退款"), "C3": ("部分退货", ""), "C4": ("交易成功", "无退款"),
    }
    lines = ["订单号,买家手机号,付款时间,订单实付金额,订单状态,退款状态"]
    lines += [f"{oid},13800000001,2026-11-20 10:00:00,10.00,{status},{refund}" for oid, (status, refund) in statuses.items()]
    report = cli("import", "orders", str(write(workspace / "o.csv", lines)), "--format", "json").json()
    assert (report["inserted"], report["rejected"]) == (10, 0)
    counted = {r["order_id"]: r["counted"] for r in rows(db, "SELECT order_id, counted FROM orders")}
    assert counted == {oid: int(oid.startswith("C")) for oid in statuses}


# ---------------------------------------------------------------- two weeks of a pet-shop brand

STAFF = ("阿喵", "大黄")
FIRST_MORNING = date(2026, 11, 10)


def _phone(i: int) -> str:
    return f"139{i:08d}"


def _ext(i: int) -> str:
    return f"wmPet{i:04d}" + "x" * 24


def _customers(first: int, last: int, added: date) -> list[str]:
    """A WeCom customer export: a customer repeated once per staff member who added them, tag
    groups, a masked phone, an emoji name, a name holding a phone and one with a line break."""
    names = {first: "🐶豆豆妈🐱", first + 1: f"王姐{_phone(900)}", first + 2: '"李|四\n- [ ] 伪造"', first + 3: ""}
    lines = ["客户名称,客户备注,添加人,添加时间,external_userid,客户手机号,标签组1(宠物)"]
    for i in range(first, last):
        phone = "139****0004" if i == first + 4 else _phone(i)
        for n, staff in enumerate(STAFF[: 2 if i % 5 == 0 else 1]):
            lines.append(f"{names.get(i, f'顾客{i}')},,{staff},{added + timedelta(days=n)} 10:00,{_ext(i)},{phone},{'猫' if i % 2 else '狗'}")
    return lines


def _orders(day: date, rng: random.Random, customers: int) -> list[str]:
    """A Youzan order export of one day: phones only, amounts with ¥ and thousands separators, some
    refunded in part or in full, some never paid."""
    lines = ["订单编号,买家手机号,付款时间,订单实付金额(元),订单状态,退款金额"]
    for n in range(rng.randint(2, 6)):
        amount = rng.choice(["¥39.90", '"¥1,234.50"', "128", "¥86.00"])
        status, refund = rng.choice([("交易成功", ""), ("交易成功", ""), ("部分退款", "10.00"), ("已退款", ""), ("等待买家付款", "")])
        lines.append(f"Y{day:%m%d}{n},{_phone(rng.randrange(customers))},{day} {10 + n}:15:00,{amount},{status},{refund}")
    return lines


def _pos_members(path: Path, customers: int) -> None:
    """A POS members sheet: card numbers with leading zeros, birthdays as Excel serials and as
    19900512, totals as ¥ text; it gives the WeCom customers a member id."""
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["会员卡号", "手机", "生日", "累计消费金额", "会员等级", "成长值"])
    for i in range(0, customers, 2):
        born = date(1990, 11, 10) + timedelta(days=i)
        birthday: int | str = (born - date(1899, 12, 30)).days if i % 4 else int(f"{born:%Y%m%d}")
        sheet.append([f"{i:06d}", _phone(i), birthday, f"¥{i * 10:,}.00", "银卡会员", i * 100])
    book.save(path)


def test_two_weeks_of_a_pet_shop_brand_from_its_own_exports(cli: Callable[..., Any], workspace: Path) -> None:
    """The README's flow on exports unlike the example brand's: imports whose reports are true to
    the files, then 14 mornings of importing yesterday's orders and saving the plan, with new
    customers and a POS export arriving in the middle. Every morning keeps the invariants, and no
    output prints a full phone."""
    db, rng = workspace / "privdom.db", random.Random(11)
    first = cli("import", "members", str(write(workspace / "c1.csv", _customers(0, 30, date(2026, 10, 1)), "gb18030")), "--format", "json").json()
    assert (first["encoding"], first["read"], first["inserted"], first["merged"], first["rejected"]) == ("gb18030", 36, 30, 6, 0)
    assert [u["column"] for u in first["unmapped"]] == ["客户备注"]
    write(workspace / "g.csv", ["群ID,群名称,群类型,群主,群人数,群上限,创建时间"] + [
        f"wrPet{g},毛孩子{kind}{g}群,{kind},{STAFF[g % 2]},{199 if g == 0 else 20},200,2026-09-0{g + 1} 10:00:00"
        for g, kind in enumerate(("福利群", "服务群", "兴趣群", "福利群"))])
    assert cli("import", "groups", str(workspace / "g.csv")).exit_code == 0
    joins = ["群ID,external_userid,入群时间"] + [f"wrPet{i % 4},{_ext(i)},2026-10-0{1 + i % 9} 12:00:00" for i in range(0, 30, 3)]
    assert cli("import", "group-members", str(write(workspace / "gm.csv", joins))).exit_code == 0
    _pos_members(workspace / "pos.xlsx", 40)
    outputs: list[str] = []

    def morning(day: date) -> None:
        yesterday = day - timedelta(days=1)
        if day == FIRST_MORNING + timedelta(days=3):  # new customers, added the day before
            assert cli("import", "members", str(write(workspace / "c2.csv", _customers(30, 40, yesterday), "gb18030"))).exit_code == 0
        if day == FIRST_MORNING + timedelta(days=6):  # the POS export: members given a card number
            pos = cli("import", "members", str(workspace / "pos.xlsx"), "--format", "json").json()
            # Every card number lands on a customer known by WeCom id or by an order's phone, or is new.
            assert (pos["read"], pos["rejected"], pos["inserted"] + pos["members_adopted"]) == (20, 0, 20)
            assert pos["members_adopted"] >= 18
        path = write(workspace / f"orders-{yesterday}.csv", _orders(yesterday, rng, 40), "gb18030")
        report = cli("import", "orders", str(path), "--format", "json").json()
        assert report["read"] == report["inserted"] + report["rejected"] == len(path.read_text("gb18030").splitlines()) - 1

    plans = run_mornings(cli, db, [FIRST_MORNING + timedelta(days=n) for n in range(14)], cap=2, capacity=150, before=morning)
    assert len(plans) == 14 and sum(len(p["tasks"]) for p in plans) > 100
    last = (FIRST_MORNING + timedelta(days=13)).isoformat()
    for args in (("plan", "--format", "md"), ("plan",), ("tasks", "--format", "json"), ("members", "--format", "csv"),
                 ("members", "--format", "json"), ("schedule", "--from", last, "--format", "ics"), ("report",)):
        res = cli(*args, *(("--date", last) if args[0] in ("plan", "tasks", "members", "report") else ()))
        assert res.exit_code == 0, (args, res.stderr)
        outputs.append(res.stdout)
    outputs += [json.dumps(p, ensure_ascii=False) for p in plans]
    assert not [m for text in outputs for m in re.findall(r"(?<!\d)1[3-9]\d{9}(?!\d)", text)]
    # Orders never paid or refunded in full are stored and not counted; a member's tasks followed
    # it to its card number.
    assert rows(db, "SELECT COUNT(*) AS n FROM orders WHERE status = '等待买家付款' AND counted = 1") == [{"n": 0}]
    assert rows(db, "SELECT COUNT(*) AS n FROM tasks WHERE member_id LIKE 'wmPet%' AND member_id IN (SELECT external_userid FROM members WHERE member_id NOT LIKE 'wmPet%')") == [{"n": 0}]
