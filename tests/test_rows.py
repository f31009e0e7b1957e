"""The record function RowParser writes out per file: same values as the general cell rules."""

from __future__ import annotations

import json
from zoneinfo import ZoneInfo

from privdom.ingest.headers import map_header
from privdom.ingest.rows import RowParser

TZ = ZoneInfo("Asia/Shanghai")


def parser(kind: str, header: list[str]) -> RowParser:
    hmap = map_header(kind, header, allow_missing=("amount", "paid_at"))
    return RowParser(kind, header, hmap, TZ, phone_id=lambda phone: "p_" + phone)


def test_header_text_never_becomes_code() -> None:
    header = ["会员卡号", "备注'\"\n)", "x\\'); import os; ('", "备注'\"\n)"]
    p = parser("members", header)
    vals = p.values(["001", "a", "b", "c"])
    assert isinstance(vals, list)
    extra = json.loads(str(vals[p.pos["extra"]]))
    # Two columns of the same name: both kept, the second as `NAME_2`.
    assert extra == {"备注'\"\n)": "a", "x\\'); import os; ('": "b", "备注'\"\n)_2": "c"}


def test_values_match_the_cell_rules() -> None:
    header = ["会员卡号", "手机号", "性别", "生日", "注册时间", "积分", "累计消费金额", "标签", "标签组1(兴趣)", "备注"]
    p = parser("members", header)
    row = [" 007 ", "+86 138-0013-8000", "保密", "5月12日", "2024/3/5 14:22", "1,234", "¥1,234.50",
           "VIP，宝妈", "宝妈|茶友", "好"]
    vals = p.values(row)
    assert isinstance(vals, list)
    got = {name: vals[i] for name, i in p.pos.items() if vals[i] is not None}
    assert got == {
        "member_id": "007", "phone": "13800138000", "birthday_md": "05-12", "joined_at": "2024-03-05 14:22:00",
        "points": 1234, "total_spent_fen": 123450, "tags": '["VIP", "宝妈", "茶友"]', "extra": '{"备注": "好"}',
        "source": "members",
    }
    assert p.nulled == {}
    # Garbage is NULL and counted; the same garbage again comes from the cache and counts again.
    for _ in range(2):
        vals = p.values(["008", "138****0000", "x", "13-40", "昨天", "abc", "?", "", "", ""])
        assert isinstance(vals, list)
    assert vals[p.pos["phone_display"]] == "138****0000"
    assert p.nulled == {"性别": 2, "生日": 2, "注册时间": 2, "积分": 2, "累计消费金额": 2}
    assert p.values(["", "138****0000", "", "", "", "", "", "", "", ""]) == "masked_phone"
    assert p.values(["", "1.38E+10", "", "", "", "", "", "", "", ""]) == "scientific_phone"


def test_a_time_cell_is_stored_as_given_only_in_the_storage_shape() -> None:
    """The record function's inline test of the storage shape agrees with `cells.parse_datetime`
    on cells of that length that fromisoformat also reads."""
    from privdom.ingest import cells

    p = parser("orders", ["订单号", "会员卡号", "支付时间", "实付金额"])
    at = p.pos["paid_at"]
    for cell in ["2024-03-05 14:22:09", "2024-03-05 14+09:00", "2024-W10-2 14:22:00", "2024-03-05 24:00:00",
                 "2024-02-30 10:00:00", "2024/03/05 14:22:09"]:
        vals = p.values(["A1", "M1", cell, "10"])
        assert isinstance(vals, list)
        assert vals[at] == cells.parse_datetime(cell, TZ), cell
    assert p.values(["A1", "M1", "2024-03-05 14+09:00", "10"])[at] == "2024-03-05 13:00:00"
