# ruff: noqa: E501 - rows of CSV exports read best on one line each
from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from import_helpers import member, rows, write


@pytest.mark.parametrize("delimiter", [",", "\t", ";", "|"])
def test_delimiters(cli: Callable[..., Any], workspace: Path, delimiter: str) -> None:
    write(
        workspace / "m.txt",
        [delimiter.join(["会员卡号", "姓名", "城市"]), delimiter.join(["007", "甲", "深圳"])],
    )
    report = cli("import", "members", str(workspace / "m.txt"), "--format", "json").json()
    assert (report["delimiter"], report["inserted"]) == (delimiter, 1)
    assert member(workspace / "privdom.db", "007")["region"] == "深圳"


def test_utf16_with_bom(cli: Callable[..., Any], workspace: Path) -> None:
    write(workspace / "m.csv", ["会员卡号\t姓名", "001\t😀王"], encoding="utf-16")
    report = cli("import", "members", str(workspace / "m.csv"), "--format", "json").json()
    assert (report["encoding"], report["inserted"]) == ("utf-16", 1)
    assert member(workspace / "privdom.db", "001")["name"] == "😀王"


def test_forced_encoding(cli: Callable[..., Any], workspace: Path) -> None:
    write(workspace / "m.csv", ["会员卡号,姓名", "001,王"], encoding="gbk")
    report = cli(
        "import", "members", str(workspace / "m.csv"), "--encoding", "gbk", "--format", "json"
    ).json()
    assert report["encoding"] == "gbk"
    res = cli("import", "members", str(workspace / "m.csv"), "--encoding", "utf-8")
    assert res.exit_code == 1
    assert res.stderr.startswith(f"error: {workspace / 'm.csv'} is not utf-8 text")


def test_quoted_newlines_and_rejects_file(cli: Callable[..., Any], workspace: Path) -> None:
    write(
        workspace / "m.csv",
        [
            "会员卡号,姓名,备注",
            '001,甲,"第一行',
            '第二行"',
            "002,乙",
            "003,丙,=cmd()",
            ',丁,"多',
            '行"',
        ],
    )
    res = cli(
        "import",
        "members",
        str(workspace / "m.csv"),
        "--rejects",
        str(workspace / "rej.csv"),
        "--format",
        "json",
    )
    report = res.json()
    assert (report["inserted"], report["rejected_by_reason"]) == (2, {"field_count": 1, "missing_id": 1})
    assert member(workspace / "privdom.db", "001")["extra"] == {"备注": "第一行\n第二行"}
    with (workspace / "rej.csv").open(encoding="utf-8") as f:
        assert list(csv.reader(f)) == [
            ["record", "line", "reason", "raw"],
            ["2", "4", "field_count", "002,乙"],
            ["4", "6", "missing_id", ',丁,"多\n行"'],
        ]


def test_xlsx_with_sheet(cli: Callable[..., Any], workspace: Path) -> None:
    book = openpyxl.Workbook()
    first = book.active
    assert first is not None
    first.title = "说明"
    first.append(["这一页不是数据"])
    sheet = book.create_sheet("会员")
    sheet.append(["会员卡号", "手机号", "注册时间", "累计消费金额"])
    sheet.append(["000123", 13812345678, __import__("datetime").datetime(2024, 3, 5, 14, 22), 12.5])
    book.save(workspace / "m.xlsx")
    res = cli("import", "members", str(workspace / "m.xlsx"), "--sheet", "会员", "--format", "json")
    assert res.exit_code == 0, res.stderr
    assert (res.json()["encoding"], res.json()["sheet"], res.json()["inserted"]) == ("xlsx", "会员", 1)
    got = member(workspace / "privdom.db", "000123")
    assert (got["phone"], got["joined_at"], got["total_spent_fen"]) == (
        "13812345678",
        "2024-03-05 14:22:00",
        1250,
    )
    res = cli("import", "members", str(workspace / "m.xlsx"), "--sheet", "订单")
    assert res.exit_code == 1
    assert res.stderr.splitlines() == [
        f"error: {workspace / 'm.xlsx'} has no sheet '订单'",
        "hint: sheets in this workbook: 说明, 会员",
    ]


def test_map_option(cli: Callable[..., Any], workspace: Path) -> None:
    write(workspace / "m.csv", ["客户编码,姓名,城市", "X1,甲,深圳"])
    res = cli(
        "import", "members", str(workspace / "m.csv"), "--map", "客户编码=member_id", "--map", "城市=extra"
    )
    assert res.exit_code == 0, res.stderr
    got = member(workspace / "privdom.db", "X1")
    assert (got["region"], got["extra"]) == (None, {"城市": "深圳"})
    res = cli("import", "members", str(workspace / "m.csv"), "--map", "客户编码=card")
    assert res.stderr.splitlines()[0] == "error: --map 客户编码=card: 'card' is not a members field"


def test_whole_file_errors_write_nothing(cli: Callable[..., Any], workspace: Path) -> None:
    db = workspace / "privdom.db"
    before = db.read_bytes()
    (workspace / "empty.csv").write_bytes(b"")
    (workspace / "blank.csv").write_bytes(b"\xef\xbb\xbf\n\n")
    (workspace / "bin.csv").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00")
    write(workspace / "noid.csv", ["姓名,城市", "甲,深圳"])
    expected = {
        "empty.csv": f"error: {workspace / 'empty.csv'} is empty",
        "blank.csv": f"error: {workspace / 'blank.csv'} is empty",
        "bin.csv": f"error: {workspace / 'bin.csv'} is not a text file (it holds binary data)",
        "noid.csv": f"error: {workspace / 'noid.csv'}: no identity column for members; columns seen: 姓名, 城市",
    }
    for name, message in expected.items():
        res = cli("import", "members", str(workspace / name))
        assert res.exit_code == 1
        assert res.stderr.splitlines()[0] == message
    hint = cli("import", "orders", str(workspace / "noid.csv")).stderr.splitlines()[1]
    assert hint == (
        "hint: orders need order_id. Accepted headers: order_id: 订单号/订单编号/订单id/单据编号/流水号/小票号/交易单号/order_id/order_no. "
        "Or name one with --map 'COLUMN=field'"
    )
    assert db.read_bytes() == before
    assert rows(db, "SELECT count(*) AS n FROM imports") == [{"n": 0}]


def test_table_output(cli: Callable[..., Any], workspace: Path) -> None:
    write(workspace / "m.csv", ["会员卡号,积分", "1,abc"])
    res = cli("import", "members", str(workspace / "m.csv"))
    assert res.exit_code == 0
    assert "新增 / inserted" in res.stdout and "置空 / nulled: 积分" in res.stdout


def test_gb18030_with_emoji_and_extension_b(cli: Callable[..., Any], workspace: Path) -> None:
    """GB18030 four-byte characters: emoji and CJK Extension B names that plain GBK cannot hold."""
    lines = ["会员卡号,姓名,昵称,备注", "00042,𠀀𪚥,茶🍵,𡈽 生僻字客户", "00043,王𠮷,😀,"]
    path = write(workspace / "m.csv", lines, encoding="gb18030")
    with pytest.raises(UnicodeDecodeError):
        path.read_bytes().decode("gbk")
    res = cli("import", "members", str(path), "--format", "json")
    assert res.exit_code == 0, res.stderr
    assert (res.json()["encoding"], res.json()["inserted"], res.json()["nulled_by_column"]) == ("gb18030", 2, {})
    first, second = member(workspace / "privdom.db", "00042"), member(workspace / "privdom.db", "00043")
    assert (first["name"], first["nickname"]) == ("𠀀𪚥", "茶🍵")
    assert (second["name"], second["nickname"]) == ("王𠮷", "😀")
    assert first["extra"] == {"备注": "𡈽 生僻字客户"}  # an unmapped column is kept, not dropped


def test_scientific_notation_phone_says_so(cli: Callable[..., Any], workspace: Path) -> None:
    path = write(workspace / "m.csv", ["会员卡号,手机号", "1,1.38123E+10", "2,abc", "3,13812345678"])
    res = cli("import", "members", str(path), "--format", "json")
    assert res.exit_code == 0, res.stderr
    assert res.json()["nulled_by_column"] == {
        "手机号": 1,
        "手机号 (scientific notation: digits lost / 科学计数法，号码已丢失)": 1,
    }
    assert [member(workspace / "privdom.db", m)["phone"] for m in ("1", "2", "3")] == [None, None, "13812345678"]
