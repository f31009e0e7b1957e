# ruff: noqa: E501 - rows of CSV exports read best on one line each
"""A brand unlike the example brand, run as a new operator would: exports of other systems
(WeCom customers, Youzan orders, POS members) with their own quirks, then the morning flow."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from import_helpers import rows, write


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
