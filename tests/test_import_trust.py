# ruff: noqa: E501 - rows of CSV exports read best on one line each
"""An import never stores wrong data silently: every point of it through the CLI, on temp
workspaces, asserting on the JSON report and on the database."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from import_helpers import member, phone_id, rows, write
from privdom.ingest import records as reading

WECOM_ID = "wmA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5"


def _wecom_id(i: int) -> str:
    return f"wm{i:030d}"


def test_an_unquoted_comma_rejects_the_record_and_stores_none_of_it(cli: Callable[..., Any], workspace: Path) -> None:
    """A WeCom export with an unquoted comma in 描述: that record is rejected with its line, and no
    later cell of it lands in another column."""
    db = workspace / "privdom.db"
    path = write(workspace / "wecom.csv", [
        "客户名称,外部联系人ID,添加人,描述,手机号",
        f"张三,{_wecom_id(1)},小王,常客,13800000001",
        f"李四,{_wecom_id(2)},小王,要发票,抬头个人,13800000002",
        f"王五,{_wecom_id(3)},小李,,13800000003",
    ])
    report = cli("import", "members", str(path), "--format", "json").json()
    assert (report["inserted"], report["rejected_by_reason"]) == (2, {"field_count": 1})
    stored = rows(db, "SELECT member_id, owner, extra FROM members ORDER BY 1")
    assert [r["member_id"] for r in stored] == [_wecom_id(1), _wecom_id(3)]
    assert "抬头个人" not in json.dumps(stored, ensure_ascii=False)
    assert rows(db, "SELECT line, reason FROM rejects") == [{"line": 3, "reason": "field_count"}]


def test_an_unquoted_thousands_separator_in_money_is_rejected(cli: Callable[..., Any], workspace: Path) -> None:
    db = workspace / "privdom.db"
    path = write(workspace / "youzan.csv", [
        "订单号,买家手机号,付款时间,订单实付金额,订单状态,商品单价",
        "E1,13800000001,2024-03-05 10:00:00,¥2,892.50,交易成功,12",
        "E2,13800000001,2024-03-06 10:00:00,¥28.50,交易成功,12",
    ])
    report = cli("import", "orders", str(path), "--format", "json").json()
    assert report["rejected_by_reason"] == {"field_count": 1}
    assert rows(db, "SELECT order_id, amount_fen, extra FROM orders") == [
        {"order_id": "E2", "amount_fen": 2850, "extra": '{"商品单价": "12"}'}
    ]


def test_a_file_that_ends_every_row_with_a_delimiter_is_read(cli: Callable[..., Any], workspace: Path) -> None:
    path = write(workspace / "m.csv", ["会员卡号,客户名称", "M1,甲,", "M2,乙,", "M3,丙,丁,"])
    report = cli("import", "members", str(path), "--format", "json").json()
    assert (report["inserted"], report["rejected_by_reason"]) == (2, {"field_count": 1})
    assert member(workspace / "privdom.db", "M2")["name"] == "乙"


@pytest.mark.parametrize("placeholder", ["#N/A", "#REF!", "#VALUE!", "N/A", "-", "--", "null"])
def test_placeholders_are_never_identities(cli: Callable[..., Any], workspace: Path, placeholder: str) -> None:
    path = write(workspace / "m.csv", ["会员卡号,客户名称", f"{placeholder},甲", "M2,乙"])
    report = cli("import", "members", str(path), "--format", "json").json()
    assert report["rejected_by_reason"] == {"invalid_id": 1}
    assert [r["member_id"] for r in rows(workspace / "privdom.db", "SELECT member_id FROM members")] == ["M2"]


def test_a_wecom_id_of_the_wrong_shape_is_rejected(cli: Callable[..., Any], workspace: Path) -> None:
    path = write(workspace / "w.csv", ["客户名称,外部联系人ID", "甲,张三", f"乙,{WECOM_ID}", "丙,12345"])
    report = cli("import", "members", str(path), "--format", "json").json()
    assert (report["inserted"], report["rejected_by_reason"]) == (1, {"invalid_id": 2})


def test_a_blank_identity_matches_a_stored_member_by_phone_or_is_rejected(cli: Callable[..., Any], workspace: Path) -> None:
    db = workspace / "privdom.db"
    cli("import", "members", str(write(workspace / "y.csv", ["会员卡号,手机号,客户名称", "M1,13800000001,甲"])))
    path = write(workspace / "w.csv", [
        "客户名称,外部联系人ID,手机号,添加人",
        "甲,,13800000001,小王",  # no WeCom id: the stored member with this phone
        "乙,,13800000002,小王",  # no WeCom id and nobody has this phone: rejected
        f"丙,{WECOM_ID},13800000003,小李",
    ])
    report = cli("import", "members", str(path), "--format", "json").json()
    assert report["rejected_by_reason"] == {"missing_id": 1}
    assert member(db, "M1")["owner"] == "小王"
    assert {r["member_id"] for r in rows(db, "SELECT member_id FROM members")} == {"M1", WECOM_ID}
    assert rows(db, "SELECT line, reason FROM rejects") == [{"line": 3, "reason": "missing_id"}]


def test_an_order_export_with_units_in_its_headers_imports_its_amounts(cli: Callable[..., Any], workspace: Path) -> None:
    db = workspace / "privdom.db"
    lines = ["订单编号,买家手机号,付款时间,订单实付金额(元),订单状态"]
    lines += [f"Y{i},1380000{i:04d},2024-03-0{i % 9 + 1} 10:00:00,{i}.50,交易成功" for i in range(1, 81)]
    path = write(workspace / "youzan.csv", lines, encoding="gb18030")
    report = cli("import", "orders", str(path), "--format", "json").json()
    assert (report["encoding"], report["inserted"], report["rejected"]) == ("gb18030", 80, 0)
    assert report["columns"]["订单实付金额(元)"] == "amount_fen" and report["unmapped"] == []
    assert rows(db, "SELECT sum(amount_fen) AS s, count(*) AS n FROM orders WHERE amount_fen > 0") == [
        {"s": sum(i * 100 + 50 for i in range(1, 81)), "n": 80}
    ]


def test_an_order_of_item_lines_with_a_rejected_line_is_rejected_whole(cli: Callable[..., Any], workspace: Path) -> None:
    """An export of item lines (商品实付金额) whose order has one unreadable or negative line: the
    order's other lines are rejected too (stored, they would count a part of the order as all of
    it), on a first import and on a later one; a stored order keeps its amount; the report's counts
    add up to the records read, and every rejected line is in `rejects` with its own text."""
    db = workspace / "privdom.db"
    header = "订单号,会员卡号,支付时间,商品名称,商品实付金额,订单状态"
    first = cli("import", "orders", str(write(workspace / "items1.csv", [
        header,
        "A1,M1,2026-11-20 10:00:00,猫粮,10.00,已完成",
        "A2,M2,2026-11-20 11:00:00,猫砂,20.00,已完成",
        "A1,M1,2026-11-20 10:00:00,猫砂,#N/A,已完成",
        "A3,M3,2026-11-20 12:00:00,猫粮,30.00,已完成",
        "A3,M3,2026-11-20 12:00:00,猫砂,5.00,已完成",
    ])), "--format", "json").json()
    assert (first["read"], first["inserted"], first["merged"], first["rejected"]) == (5, 2, 1, 2)
    assert first["rejected_by_reason"] == {"invalid_amount": 1, "order_line_rejected": 1}
    assert rows(db, "SELECT record, line, reason FROM rejects ORDER BY rowid") == [
        {"record": 1, "line": 2, "reason": "order_line_rejected"}, {"record": 3, "line": 4, "reason": "invalid_amount"}]
    assert rows(db, "SELECT order_id, amount_fen FROM orders ORDER BY 1") == [
        {"order_id": "A2", "amount_fen": 2000}, {"order_id": "A3", "amount_fen": 3500}]
    assert rows(db, "SELECT member_id FROM members ORDER BY 1") == [{"member_id": "M2"}, {"member_id": "M3"}]
    later = cli("import", "orders", str(write(workspace / "items2.csv", [
        header,
        "A3,M3,2026-11-20 12:00:00,猫粮,30.00,已完成",
        "B1,M1,2026-11-21 10:00:00,猫粮,10.00,已完成",
        "A3,M3,2026-11-20 12:00:00,猫砂,-5.00,已完成",
        "B1,M1,2026-11-21 10:00:00,猫砂,5.00,已完成",
        "B2,M4,2026-11-21 10:00:00,猫砂,8.00,已完成,多一列",
        "B2,M4,2026-11-21 10:00:00,猫粮,8.00,已完成",
    ])), "--format", "json").json()
    assert (later["read"], later["inserted"], later["merged"], later["rejected"]) == (6, 1, 1, 4)
    assert later["rejected_by_reason"] == {"field_count": 1, "negative_amount": 1, "order_line_rejected": 2}
    assert rows(db, "SELECT order_id, amount_fen FROM orders ORDER BY 1") == [
        {"order_id": "A2", "amount_fen": 2000}, {"order_id": "A3", "amount_fen": 3500}, {"order_id": "B1", "amount_fen": 1500}]
    assert rows(db, "SELECT line, reason, raw FROM rejects WHERE reason = 'order_line_rejected' ORDER BY import_id, line")[1:] == [
        {"line": 2, "reason": "order_line_rejected", "raw": "A3,M3,2026-11-20 12:00:00,猫粮,30.00,已完成"},
        {"line": 7, "reason": "order_line_rejected", "raw": "B2,M4,2026-11-21 10:00:00,猫粮,8.00,已完成"}]


def test_an_order_export_rejects_only_the_line_when_each_line_is_the_whole_order(cli: Callable[..., Any], workspace: Path) -> None:
    """With the order's amount on every line (订单实付金额), a bad line is one record less: the
    order is stored from its good line."""
    db = workspace / "privdom.db"
    report = cli("import", "orders", str(write(workspace / "orders.csv", [
        "订单号,会员卡号,支付时间,商品名称,订单实付金额,订单状态",
        "A1,M1,2026-11-20 10:00:00,猫粮,15.00,已完成",
        "A1,M1,2026-11-20 10:00:00,猫砂,#N/A,已完成",
    ])), "--format", "json").json()
    assert report["rejected_by_reason"] == {"invalid_amount": 1}
    assert rows(db, "SELECT order_id, amount_fen FROM orders") == [{"order_id": "A1", "amount_fen": 1500}]


def test_an_unread_column_is_named_with_its_map_and_the_map_then_takes_effect(cli: Callable[..., Any], workspace: Path) -> None:
    db = workspace / "privdom.db"
    path = write(workspace / "pos.csv", [
        "订单编号,买家手机号,付款时间,实付合计(元),门店名称",
        "P1,13800000001,2024-03-05 10:00:00,88.50,五角场店",
    ])
    refused = cli("import", "orders", str(path))
    assert refused.exit_code == 1
    assert refused.stderr.splitlines()[1] == (
        "hint: map its column: --map '实付合计(元)=amount', or import without it: --allow-missing amount"
    )
    assert rows(db, "SELECT count(*) AS n FROM orders") == [{"n": 0}]
    table = cli("import", "orders", str(path), "--allow-missing", "amount")
    assert table.exit_code == 0 and "--map '实付合计(元)=amount'" in table.stdout
    assert rows(db, "SELECT amount_fen, store FROM orders") == [{"amount_fen": 0, "store": "五角场店"}]
    report = cli("import", "orders", str(path), "--map", "实付合计(元)=amount", "--format", "json").json()
    assert not report["already_imported"] and report["updated"] == 1
    assert rows(db, "SELECT amount_fen FROM orders") == [{"amount_fen": 8850}]
    again = cli("import", "orders", str(path), "--map", "实付合计(元)=amount", "--format", "json").json()
    assert again["already_imported"]
    forced = cli("import", "orders", str(path), "--map", "实付合计(元)=amount", "--force", "--format", "json").json()
    assert not forced["already_imported"] and forced["unchanged"] == 1


def test_blank_and_repeated_headers_are_kept_in_extra(cli: Callable[..., Any], workspace: Path) -> None:
    path = write(workspace / "m.csv", ["会员卡号,备注,,备注", "M1,甲,乙,丙"])
    report = cli("import", "members", str(path), "--format", "json").json()
    assert report["extra_columns"] == ["备注", "column_3", "备注_2"]
    assert member(workspace / "privdom.db", "M1")["extra"] == {"备注": "甲", "column_3": "乙", "备注_2": "丙"}


def test_concatenated_exports_skip_the_second_header(cli: Callable[..., Any], workspace: Path) -> None:
    one = "\ufeff会员卡号,客户名称\nM1,甲\n".encode()
    two = "\ufeff会员卡号,客户名称\nM2,乙\n".encode()
    (workspace / "both.csv").write_bytes(one + two)
    report = cli("import", "members", str(workspace / "both.csv"), "--format", "json").json()
    assert (report["inserted"], report["repeated_headers"], report["rejected"]) == (2, 1, 0)
    assert {r["name"] for r in rows(workspace / "privdom.db", "SELECT name FROM members")} == {"甲", "乙"}


def test_one_unbalanced_quote_costs_one_record(cli: Callable[..., Any], workspace: Path) -> None:
    lines = ["会员卡号,客户名称,昵称"] + [f"M{i:04d},名{i},昵{i}" for i in range(1000)]
    lines[10] = 'M0009,名9,"Joy'
    report = cli("import", "members", str(write(workspace / "m.csv", lines)), "--format", "json").json()
    assert (report["inserted"], report["rejected_by_reason"]) == (999, {"unbalanced_quote": 1})
    assert rows(workspace / "privdom.db", "SELECT line, reason, raw FROM rejects") == [
        {"line": 11, "reason": "unbalanced_quote", "raw": 'M0009,名9,"Joy'}
    ]
    assert member(workspace / "privdom.db", "M0010")["nickname"] == "昵10"


def test_a_utf8_file_with_one_gbk_line_is_refused(cli: Callable[..., Any], workspace: Path) -> None:
    db = workspace / "privdom.db"
    path = workspace / "mixed.csv"
    path.write_bytes("会员卡号,客户名称\nM1,张三\n".encode() + "M2,李四\n".encode("gbk") + "M3,王五\n".encode())
    res = cli("import", "members", str(path))
    assert res.exit_code == 1
    assert res.stderr.splitlines()[0] == (
        f"error: {path}:3: not utf-8 text, while line 1 is: the file mixes utf-8 and gb18030"
    )
    assert rows(db, "SELECT count(*) AS n FROM members") == [{"n": 0}]
    assert rows(db, "SELECT count(*) AS n FROM imports") == [{"n": 0}]
    # The operator may choose: that line's bytes replaced, and the import says which encoding.
    chosen = cli("import", "members", str(path), "--encoding", "utf-8", "--encoding-errors", "replace", "--format", "json")
    assert chosen.exit_code == 0 and chosen.json()["inserted"] == 3
    assert member(db, "M3")["name"] == "王五" and "\ufffd" in member(db, "M2")["name"]


def test_an_unknown_encoding_name_is_exit_1(cli: Callable[..., Any], workspace: Path) -> None:
    path = write(workspace / "m.csv", ["会员卡号,客户名称", "M1,甲"])
    res = cli("import", "members", str(path), "--encoding", "klingon")
    assert (res.exit_code, res.stderr.splitlines()[0]) == (1, "error: --encoding 'klingon' is not a known encoding")


def test_export_totals_are_history_and_new_orders_go_on_top(cli: Callable[..., Any], workspace: Path) -> None:
    """17 orders and 854.50 (成长值 8545, gold), then one 20.00 order: 18 orders, 874.50, still gold;
    `member ID` shows the export's own level and growth beside the tier."""
    cli("import", "members", str(write(workspace / "m.csv", [
        "会员卡号,手机号,会员等级,成长值,累计消费金额,累计消费次数,最后消费时间",
        "M1,13800000001,金卡,8545,854.50,17,2026-10-01 12:00:00",
    ])))
    cli("import", "orders", str(write(workspace / "o.csv", [
        "订单号,会员卡号,支付时间,实付金额,订单状态", "N1,M1,2026-11-20 10:00:00,20.00,已完成",
    ])))
    (m,) = cli("members", "--date", "2026-11-23", "--format", "json").json()
    assert (m["orders_total"], m["spend_total"], m["tier"], m["last_order_date"]) == (18, "874.50", "gold", "2026-11-20")
    profile = cli("member", "M1", "--date", "2026-11-23", "--format", "json").json()
    export = profile["tier"]["export"]
    assert (export["level"], export["growth"], export["differs"]) == ("金卡", 8545, True)
    assert "privdom computes 8745 from spend" in export["why"][0]


def test_a_members_export_imported_again_keeps_the_time_of_its_totals(cli: Callable[..., Any], workspace: Path) -> None:
    """An export imported on 2026-11-01, an order on 11-20 on top of its totals, then the same file
    imported again with --force: its totals are still those of 11-01, so the order still counts."""
    from datetime import datetime

    import privdom

    path = write(workspace / "m.csv", ["会员卡号,客户名称,累计消费金额,累计消费次数", "M1,甲,1000.00,5"])
    ws = privdom.Workspace(db=workspace / "privdom.db", sops=workspace / "sops")
    ws.import_file("members", path, started_at=datetime(2026, 11, 1, 9, 0))
    cli("import", "orders", str(write(workspace / "o.csv", [
        "订单号,会员卡号,支付时间,实付金额,订单状态", "N1,M1,2026-11-20 10:00:00,100.00,已完成"])))
    before = cli("members", "--date", "2026-11-23", "--format", "json").json()
    assert [(m["orders_total"], m["spend_total"]) for m in before] == [(6, "1100.00")]
    assert cli("import", "members", str(path), "--force").exit_code == 0
    after = cli("members", "--date", "2026-11-23", "--format", "json").json()
    assert [(m["orders_total"], m["spend_total"]) for m in after] == [(6, "1100.00")]
    assert rows(workspace / "privdom.db", "SELECT totals_as_of FROM members") == [{"totals_as_of": "2026-11-01 09:00:00"}]


def test_partial_refunds_count_at_their_net_amount_and_later_refunds_are_counted(cli: Callable[..., Any], workspace: Path) -> None:
    db = workspace / "privdom.db"
    cli("import", "orders", str(write(workspace / "a.csv", [
        "订单号,会员卡号,付款时间,订单实付金额,订单状态,退款状态,退款金额",
        "R1,M1,2026-11-01 10:00:00,100.00,部分退款,部分退款,30.00",
        "R2,M1,2026-11-02 10:00:00,50.00,交易成功,,",
        "R3,M1,2026-11-03 10:00:00,40.00,交易成功,退款成功,40.00",
    ])))
    assert rows(db, "SELECT order_id, amount_fen, counted, extra FROM orders ORDER BY 1") == [
        {"order_id": "R1", "amount_fen": 7000, "counted": 1, "extra": '{"退款状态": "部分退款", "退款金额": "30.00"}'},
        {"order_id": "R2", "amount_fen": 5000, "counted": 1, "extra": None},
        {"order_id": "R3", "amount_fen": 4000, "counted": 0, "extra": '{"退款状态": "退款成功", "退款金额": "40.00"}'},
    ]
    report = cli("import", "orders", str(write(workspace / "b.csv", [
        "订单号,会员卡号,付款时间,订单实付金额,订单状态,退款状态,退款金额",
        "R2,M1,2026-11-02 10:00:00,50.00,部分退款,部分退款,10.00",
    ])), "--format", "json").json()
    assert (report["updated"], report["refunds_updated"], report["status_updated"]) == (1, 1, 1)
    assert rows(db, "SELECT amount_fen, counted FROM orders WHERE order_id = 'R2'") == [{"amount_fen": 4000, "counted": 1}]


def test_adoption_moves_orders_and_done_tasks_to_the_member_id(cli: Callable[..., Any], workspace: Path) -> None:
    db = workspace / "privdom.db"
    cli("import", "orders", str(write(workspace / "o.csv", [
        "订单号,手机号,支付时间,实付金额,订单状态", "Q1,13800000009,2026-11-20 10:00:00,30.00,已完成",
    ])))
    old = phone_id(db, "13800000009")
    assert member(db, old)["phone"] == "13800000009"
    with sqlite3.connect(db) as conn:  # a coupon the operator already sent to that member
        conn.execute(
            "INSERT INTO tasks (task_id, date, rule, stage, trigger, action, member_id, due_at, status, created_at)"
            " VALUES ('t1', '2026-11-21', 'repurchase', 'conversion', 'first_order', 'coupon', ?,"
            " '2026-11-21T12:00:00+08:00', 'done', '2026-11-21 08:00:00')",
            (old,),
        )
    report = cli("import", "members", str(write(workspace / "m.csv", ["会员卡号,手机号,客户名称", "M9,13800000009,新会员"])), "--format", "json").json()
    assert report["members_adopted"] == 1
    assert rows(db, "SELECT member_id FROM members") == [{"member_id": "M9"}]
    assert rows(db, "SELECT member_id FROM orders") == [{"member_id": "M9"}]
    assert rows(db, "SELECT member_id, status FROM tasks") == [{"member_id": "M9", "status": "done"}]
    done = cli("tasks", "--date", "2026-11-21", "--format", "json").json()
    assert [t["member_id"] for t in done] == ["M9"]


def _phone_brand(workspace: Path) -> None:
    write(workspace / "groups.csv", ["群ID,群名称,群类型,群主,群人数,群上限,创建时间", "G1,13900000001的福利群,福利群,小王,20,200,2026-01-01 10:00:00"])
    write(workspace / "members.csv", [
        "手机号,客户名称,添加人,注册时间,生日",
        "13800000001,13800000001,小王,2026-11-01 10:00:00,1990-11-23",
        "13800000002,陈13800000002,小王,2026-11-22 10:00:00,",
    ])
    write(workspace / "orders.csv", ["订单号,手机号,支付时间,实付金额,订单状态", "Z1,13800000001,2026-11-20 10:00:00,30.00,已完成"])
    write(workspace / "gm.csv", ["群ID,会员卡号,入群时间", "G1,PLACEHOLDER,2026-11-02 10:00:00"])


def test_a_phone_identity_is_never_printed_without_show_pii(cli: Callable[..., Any], workspace: Path) -> None:
    db = workspace / "privdom.db"
    _phone_brand(workspace)
    for kind, name in (("groups", "groups.csv"), ("members", "members.csv"), ("orders", "orders.csv")):
        res = cli("import", kind, str(workspace / name))
        assert res.exit_code == 0, res.stderr
    first = phone_id(db, "13800000001")
    assert first.startswith("p_") and member(db, first)["phone"] == "13800000001"
    assert rows(db, "SELECT member_id FROM orders") == [{"member_id": first}]
    (workspace / "gm.csv").write_text((workspace / "gm.csv").read_text().replace("PLACEHOLDER", first), encoding="utf-8")
    cli("import", "group-members", str(workspace / "gm.csv"))
    date = ("--date", "2026-11-23")
    outputs = [
        *(cli("members", *date, "--format", f).stdout for f in ("table", "json", "csv")),
        *(cli("member", first, *date, "--format", f).stdout for f in ("table", "json")),
        *(cli("plan", *date, "--format", f).stdout for f in ("table", "json", "csv", "md")),
        cli("plan", *date, "--save", "--format", "json").stdout,
        *(cli("tasks", *date, "--format", f).stdout for f in ("table", "json", "csv")),
        *(cli("schedule", "--from", "2026-11-23", "--format", f).stdout for f in ("table", "json", "csv", "ics")),
        *(cli("report", *date, "--format", f).stdout for f in ("table", "json")),
    ]
    shown = cli("members", *date, "--format", "json").json()
    assert {m["member_id"] for m in shown} == {first, phone_id(db, "13800000002")}
    for out in outputs:
        assert out and "13800000001" not in out and "13800000002" not in out and "13900000001" not in out
    assert "13800000001" in cli("members", *date, "--format", "json", "--show-pii").stdout


def test_a_file_that_changes_while_it_is_read_is_refused(cli: Callable[..., Any], workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = workspace / "privdom.db"
    path = write(workspace / "m.csv", ["会员卡号,客户名称"] + [f"M{i},名{i}" for i in range(50)])
    real = reading.records

    def growing(src: Any, report: Any) -> Any:  # an exporter still writing the file
        for n, item in enumerate(real(src, report)):
            if n == 10:
                with path.open("a", encoding="utf-8") as f:
                    f.write("M99,名99\n")
            yield item

    monkeypatch.setattr(reading, "records", growing)
    res = cli("import", "members", str(path))
    assert res.exit_code == 1
    assert res.stderr.splitlines()[0] == f"error: {path} changed while it was imported; nothing was written"
    assert rows(db, "SELECT count(*) AS n FROM members") == [{"n": 0}]
    monkeypatch.setattr(reading, "records", real)
    report = cli("import", "members", str(path), "--format", "json").json()
    assert report["inserted"] == 51 and not report["already_imported"]


def test_a_busy_workspace_waits_then_says_so(cli: Callable[..., Any], workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = workspace / "privdom.db"
    monkeypatch.setenv("PRIVDOM_BUSY_TIMEOUT_MS", "200")
    path = write(workspace / "m.csv", ["会员卡号,客户名称", "M1,甲"])
    (workspace / ".privdom.db-importing").write_text("2026-11-23 08:00:00", encoding="utf-8")
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # the import that is running
    try:
        res = cli("import", "members", str(path))
        plan = cli("plan", "--date", "2026-11-23", "--save")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    for result in (res, plan):
        assert result.exit_code == 1
        assert "error: the workspace is busy (an import started at 2026-11-23 08:00:00)" in result.stderr.splitlines()
    for result in (res, plan):
        assert result.stderr.splitlines()[0].startswith("waiting for the import started at 2026-11-23 08:00:00")
    assert rows(db, "SELECT count(*) AS n FROM members") == [{"n": 0}]


def test_the_rejects_path_is_checked_before_anything_is_written(cli: Callable[..., Any], workspace: Path) -> None:
    path = write(workspace / "m.csv", ["会员卡号,客户名称", "M1,甲", "#N/A,乙"])
    res = cli("import", "members", str(path), "--rejects", str(workspace / "no" / "such" / "r.csv"))
    assert res.exit_code == 1
    assert res.stderr.splitlines()[0] == (
        f"error: --rejects {workspace / 'no' / 'such' / 'r.csv'} is in {workspace / 'no' / 'such'}, which does not exist;"
        " nothing was imported"
    )
    assert rows(workspace / "privdom.db", "SELECT count(*) AS n FROM members") == [{"n": 0}]


def test_a_read_only_workspace_is_exit_1(cli: Callable[..., Any], workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from privdom.store import schema

    db = workspace / "privdom.db"
    path = write(workspace / "m.csv", ["会员卡号,客户名称", "M1,甲"])
    real = schema.sqlite3.connect

    def read_only(target: Any, *args: Any, **kwargs: Any) -> sqlite3.Connection:
        if Path(target).resolve() == db.resolve():  # as a file the operator may read but not write
            return real(f"file:{db}?mode=ro", *args, uri=True, **kwargs)
        return real(target, *args, **kwargs)

    monkeypatch.setattr(schema.sqlite3, "connect", read_only)
    res = cli("import", "members", str(path))
    assert (res.exit_code, res.stderr.splitlines()[:1]) == (1, ["error: privdom.db is read-only here; nothing was written"]), res.stdout


def test_an_xlsx_id_stored_as_a_number_is_flagged(cli: Callable[..., Any], workspace: Path) -> None:
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["会员卡号", "客户名称"])
    sheet.append([10001, "甲"])  # typed as a number: a leading 0 would be gone
    sheet.append(["00010002", "乙"])
    book.save(workspace / "m.xlsx")
    report = cli("import", "members", str(workspace / "m.xlsx"), "--format", "json").json()
    assert (report["inserted"], report["numeric_ids"]) == (2, {"会员卡号": 1})
    assert "ids stored as numbers" in cli("import", "members", str(workspace / "m.xlsx"), "--force").stdout


def test_imports_recorded_before_options_count_as_read_with_the_defaults() -> None:
    """A workspace's imports from before schema 8 have no options: they stand for the defaults."""
    from privdom.ingest.loader import Options
    from privdom.store.imports import DEFAULT_OPTIONS

    assert Options({}, "generic", None, "auto", (), "strict", False).key() == DEFAULT_OPTIONS
