# ruff: noqa: E501 - rows of exports and playbook snippets read best on one line each
"""Hostile input and faults, as a table: each case is an input, a command, the exit code, the words
of its one `error:` line, and a workspace whose dump is the same before and after.

Every case runs on a copy of one small workspace (members with names built to break outputs:
line breaks, `|`, checklist markers, formulas). The slow fault cases (signals, two processes at
once, a full disk) carry the `faults` marker; the normal test run runs them too.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import privdom
from import_helpers import wait_for_write_lock
from privdom.cli.main import app
from privdom.playbook import default_sops_dir
from privdom.playbook.templates import check_template

DAY = "2026-11-23"
PHONE = "13812345678"
MEMBERS_HEADER = "会员卡号,客户名称,手机号,注册时间,累计消费金额,累计消费次数,最后消费时间,积分,生日,添加人"
MEMBERS = [
    MEMBERS_HEADER,
    f"000001,王小雨,{PHONE},2026-11-23 09:00:00,120.50,2,2026-11-01 12:00:00,10,1990-05-12,小茶",
    '000002,"伪\n- [ ] 伪造任务",13900000002,2026-11-23 09:00:00,30,1,2026-10-01 12:00:00,0,,小茶',
    '000003,"=HYPERLINK(""http://x"")",13900000003,2026-11-23 09:00:00,0,0,,0,,小茶',
    '000004,"a|b | c",13900000004,2026-11-23 09:00:00,10,1,2026-09-01 12:00:00,0,,"柜|台"',
    '000005,"@SUM(1+1)",13900000005,2026-11-23 09:00:00,10,1,2026-09-01 12:00:00,0,,小茶',
]
ORDERS = [
    "订单号,会员卡号,支付时间,实付金额,订单状态",
    "T1,000001,2026-11-01 12:00:00,120.50,已完成",
    "T2,000002,2026-10-01 12:00:00,30,已完成",
]


# ---------------------------------------------------------------- the workspace every case copies


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("hostile-base")
    (folder / "members.csv").write_text("\n".join(MEMBERS) + "\n", encoding="utf-8")
    (folder / "orders.csv").write_text("\n".join(ORDERS) + "\n", encoding="utf-8")
    for args in (("init",), ("import", "members", "members.csv"), ("import", "orders", "orders.csv")):
        res = _invoke(folder, *args)
        assert res.exit_code == 0, res.stderr
    for name in ("members.csv", "orders.csv"):
        (folder / name).unlink()
    return folder


@dataclass
class Result:
    exit_code: int
    stdout: str
    stderr: str


def _invoke(folder: Path, *args: str, env: Mapping[str, str] | None = None) -> Result:
    old = Path.cwd()
    os.chdir(folder)
    try:
        environment = {"PRIVDOM_DB": None, "PRIVDOM_SOPS": None, "PRIVDOM_LOG_DIR": str(folder / "logs"), **(env or {})}
        res = CliRunner().invoke(app, list(args), env=environment, catch_exceptions=False)
    finally:
        os.chdir(old)
    return Result(res.exit_code, res.stdout, res.stderr)


@pytest.fixture
def ws(base: Path, tmp_path: Path) -> Path:
    folder = tmp_path / "ws"
    shutil.copytree(base, folder)
    return folder


def dump(db: Path) -> str | None:
    """The workspace's content as SQL text (None when there is no file): what `unchanged` means."""
    if not db.is_file():
        return None
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return "\n".join(conn.iterdump())
    except sqlite3.DatabaseError:  # not a database, or a damaged one: its bytes, then
        return db.read_bytes().hex()
    finally:
        conn.close()


# ---------------------------------------------------------------- the table


@dataclass(frozen=True)
class Case:
    name: str
    args: tuple[str, ...]
    code: int = 1
    words: tuple[str, ...] = ()  # in the `error:` line (exit 1), in stderr (exit 2), in the output (exit 0)
    files: Mapping[str, str | bytes] = field(default_factory=dict)
    setup: Callable[[Path], None] | None = None
    check: Callable[[Result, Path], None] | None = None
    changes: bool = False  # the command may change the workspace (an import that succeeds)


def csv_members(*cells: str, column: str = "累计消费金额") -> str:
    """A members export of one identity column and `column`, one row per cell."""
    return "\n".join([f"会员卡号,{column}", *(f'{9000 + i},"{c}"' for i, c in enumerate(cells))]) + "\n"


def nulled(column: str, n: int) -> Callable[[Result, Path], None]:
    def check(res: Result, _ws: Path) -> None:
        report = json.loads(res.stdout)
        assert report["nulled_by_column"].get(column) == n, report["nulled_by_column"]
        assert report["rejected"] == 0

    return check


def rejected(reason: str, n: int) -> Callable[[Result, Path], None]:
    def check(res: Result, _ws: Path) -> None:
        report = json.loads(res.stdout)
        assert report["rejected_by_reason"] == {reason: n} and report["rejected"] == n, report

    return check


def dry(file: str, kind: str = "members") -> tuple[str, ...]:
    return ("import", kind, file, "--dry-run", "--format", "json")


CSV_CASES = [
    *(
        Case(f"amount-{label}", dry("m.csv"), 0, files={"m.csv": csv_members(cell)}, check=nulled("累计消费金额", 1))
        for label, cell in [
            ("20-digits", "99999999999999999999"),
            ("5000-digits", "9" * 5000),
            ("4301-digits", "1" * 4301),
            ("just-over-int64-fen", "92233720368547758.08"),
            ("negative-huge", "-99999999999999999999.99"),
            ("exponent", "1e20"),
            ("inf", "inf"),
            ("nan", "NaN"),
            ("yuan-sign-huge", "¥99,999,999,999,999,999,999"),
            ("dot-only", "."),
            ("two-dots", "1.2.3"),
        ]
    ),
    Case("amount-int64-edge-kept", dry("m.csv"), 0, files={"m.csv": csv_members("92233720368547758.07")},
         check=lambda res, _ws: json.loads(res.stdout)["nulled_by_column"] == {} or _fail(res.stdout)),
    *(
        Case(f"date-{label}", dry("m.csv"), 0, files={"m.csv": csv_members(cell, column="注册时间")}, check=nulled("注册时间", 1))
        for label, cell in [
            ("year-9999", "9999-12-31"),
            ("year-9999-storage-shape", "9999-12-31 23:59:59"),
            ("year-0001", "0001-01-01"),
            ("year-0001-aware", "0001-01-01T00:00:00+08:00"),
            ("year-1899", "1899-12-31 10:00:00"),
            ("year-2201", "2201-01-01"),
            ("zeros", "0000-00-00"),
            ("hashes", "########"),
            ("excel-serial-9999", "2958465"),
            ("chinese-year-9999", "9999年12月31日"),
            ("compact-9999", "99991231"),
            ("feb-30", "2026-02-30"),
            ("hour-25", "2026-01-01 25:00"),
        ]
    ),
    *(
        Case(f"count-{label}", dry("m.csv"), 0, files={"m.csv": csv_members(cell, column="积分")}, check=nulled("积分", 1))
        for label, cell in [("20-digits", "99999999999999999999"), ("5000-digits", "9" * 5000), ("half", "12.5"), ("1e9", "1e9")]
    ),
    Case("order-amount-huge", dry("o.csv", "orders"), 0,
         files={"o.csv": "订单号,会员卡号,支付时间,实付金额\nT9,000001,2026-11-01 12:00:00,99999999999999999999\n"},
         check=rejected("invalid_amount", 1)),
    Case("order-paid-year-9999", dry("o.csv", "orders"), 0,
         files={"o.csv": "订单号,会员卡号,支付时间,实付金额\nT9,000001,9999-12-31 23:59:59,12\n"},
         check=nulled("支付时间", 1)),
    Case("import-huge-amount-for-real", ("import", "members", "m.csv", "--format", "json"), 0,
         files={"m.csv": csv_members("9" * 5000)}, check=nulled("累计消费金额", 1), changes=True),
    Case("file-missing", ("import", "members", "nope.csv"), words=("nope.csv", "no such file")),
    Case("file-empty", ("import", "members", "e.csv"), words=("e.csv", "empty"), files={"e.csv": ""}),
    Case("file-bom-only", ("import", "members", "e.csv"), words=("e.csv", "empty"), files={"e.csv": b"\xef\xbb\xbf"}),
    Case("file-blank-lines", ("import", "members", "e.csv"), words=("e.csv", "empty"), files={"e.csv": "\n\n  \n"}),
    Case("file-png", ("import", "members", "p.csv"), words=("p.csv",), files={"p.csv": b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4}),
    Case("file-nul-bytes", ("import", "members", "n.csv"), words=("n.csv",), files={"n.csv": b"\x00" * 4096}),
    Case("file-is-folder", ("import", "members", "sops"), words=("sops", "not a regular file")),
    Case("file-dev-null", ("import", "members", "/dev/null"), words=("/dev/null", "not a regular file")),
    Case("file-fifo", ("import", "members", "pipe.csv"), words=("pipe.csv", "not a regular file"),
         setup=lambda ws: os.mkfifo(ws / "pipe.csv")),
    *(
        Case(f"encoding-{codec}", ("import", "members", "m.csv", "--encoding", codec), words=("--encoding", codec),
             files={"m.csv": csv_members("1")})
        for codec in ("base64", "rot13", "hex", "zlib", "bz2", "uu", "quopri", "no-such-codec", "")
    ),
    Case("encoding-wrong-for-file", ("import", "members", "g.csv", "--encoding", "utf-8"), words=("g.csv", "utf-8"),
         files={"g.csv": "会员卡号,客户名称\n1,王小雨\n".encode("gb18030")}),
    Case("map-no-equals", ("import", "members", "m.csv", "--map", "会员卡号"), words=("--map",), files={"m.csv": csv_members("1")}),
    Case("map-empty-field", ("import", "members", "m.csv", "--map", "会员卡号="), words=("--map",), files={"m.csv": csv_members("1")}),
    Case("sheet-on-csv", ("import", "members", "m.csv", "--sheet", "x"), words=("--sheet",), files={"m.csv": csv_members("1")}),
    Case("no-identity-column", ("import", "members", "m.csv"), words=("m.csv", "no identity column"), files={"m.csv": "甲,乙\n1,2\n"}),
    Case("kind-unknown", ("import", "customers", "m.csv"), 2, words=("customers",), files={"m.csv": csv_members("1")}),
    Case("source-unknown", ("import", "members", "m.csv", "--source", "taobao"), 2, words=("taobao",), files={"m.csv": csv_members("1")}),
    Case("sql-in-cells-is-text", ("import", "members", "s.csv", "--format", "json"), 0, changes=True,
         files={"s.csv": "会员卡号,客户名称\n9001,\"x'); DROP TABLE members; --\"\n"},
         check=lambda res, ws: _one(ws, "SELECT name FROM members WHERE member_id = '9001'") == "x'); DROP TABLE members; --"),
]


def _xlsx(path: Path, cells: Mapping[str, Any]) -> None:
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    for ref, value in cells.items():
        sheet[ref] = value
    book.save(path)


def _writes_xlsx(name: str, cells: Mapping[str, Any]) -> Callable[[Path], None]:
    return lambda ws: _xlsx(ws / name, cells)


XLSX_HEADER = {"A1": "会员卡号", "B1": "客户名称", "C1": "累计消费金额", "A2": "7001", "B2": "王", "C2": 12.5}


def _zip_of(names: dict[str, str]) -> bytes:
    import io

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        for name, text in names.items():
            z.writestr(name, text)
    return buffer.getvalue()


XLSX_CASES = [
    Case("xlsx-not-a-zip", ("import", "members", "x.xlsx"), words=("x.xlsx",), files={"x.xlsx": b"PK\x03\x04 not really a zip"}),
    Case("xlsx-zip-without-workbook", ("import", "members", "x.xlsx"), words=("x.xlsx",), files={"x.xlsx": _zip_of({"a.txt": "hi"})}),
    Case("xlsx-empty-sheet", ("import", "members", "x.xlsx"), words=("x.xlsx", "empty"), setup=_writes_xlsx("x.xlsx", {})),
    Case("xlsx-no-such-sheet", ("import", "members", "x.xlsx", "--sheet", "nope"), words=("x.xlsx", "nope"),
         setup=_writes_xlsx("x.xlsx", XLSX_HEADER)),
    Case("xlsx-stray-cell-far-right", dry("x.xlsx"), 0, setup=_writes_xlsx("x.xlsx", {**XLSX_HEADER, "XFD3": "boom"}),
         check=lambda res, _ws: json.loads(res.stdout)["rejected_by_reason"] == {"field_count": 1}),
    Case("xlsx-stray-cell-far-down", dry("x.xlsx"), 0, setup=_writes_xlsx("x.xlsx", {**XLSX_HEADER, "A20000": "7002"}),
         check=lambda res, _ws: (json.loads(res.stdout)["inserted"], json.loads(res.stdout)["blank"]) == (2, 19997) or _fail(res.stdout)),
    Case("xlsx-huge-float-amount", dry("x.xlsx"), 0, setup=_writes_xlsx("x.xlsx", {**XLSX_HEADER, "C2": 1e300}),
         check=nulled("累计消费金额", 1)),
    Case("xlsx-year-9999-date", dry("x.xlsx"), 0,
         setup=_writes_xlsx("x.xlsx", {**XLSX_HEADER, "D1": "注册时间", "D2": __import__("datetime").datetime(9999, 12, 31)}),
         check=nulled("注册时间", 1)),
    Case("xlsx-given-a-csv-name", ("import", "members", "x.csv", "--encoding", "utf-8"), words=("x.csv",),
         setup=lambda ws: (_xlsx(ws / "t.xlsx", XLSX_HEADER), (ws / "t.xlsx").rename(ws / "x.csv"))),
]


def _fail(text: str) -> bool:
    raise AssertionError(text)


def _one(ws: Path, sql: str) -> Any:
    conn = sqlite3.connect(ws / "privdom.db")
    try:
        row = conn.execute(sql).fetchone()
        return row[0] if row else None
    finally:
        conn.close()


# ---------------------------------------------------------------- playbooks


def _line_of(name: str, text: str) -> int:
    """The line of the shipped default playbook that holds `text`, so the cases follow its edits."""
    lines = (default_sops_dir() / name).read_text(encoding="utf-8").splitlines()
    return next(number for number, line in enumerate(lines, start=1) if text in line)


_TIMEZONE_LINE = _line_of("playbook.yaml", "timezone: Asia/Shanghai")
_COUPON_LINE = _line_of("playbook.yaml", "value_yuan: 5,")


def _replace(name: str, old: str, new: str) -> Callable[[Path], None]:
    def edit(ws: Path) -> None:
        path = ws / "sops" / name
        text = path.read_text(encoding="utf-8")
        assert old in text, old
        path.write_text(text.replace(old, new, 1), encoding="utf-8")

    return edit


def _extra_sop(text: str | bytes) -> Callable[[Path], None]:
    def write(ws: Path) -> None:
        path = ws / "sops" / "zz_extra.yaml"
        path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))

    return write


def _member_rule(condition: str) -> str:
    """A rule about members whose audience is `condition`."""
    return _rule('{trigger: joined, at: "10:00"}').replace(
        "audience: {group_types: [welfare]}\n      action: group_post",
        f"audience: {{where: {condition}}}\n      action: private_message",
    )


def _rule(when: str = '{trigger: daily, at: "10:00"}', template: str = "hi", extra: str = "") -> str:
    return (
        "stages:\n  retention:\n    - id: hostile\n      title: {zh: 测试, en: Test}\n"
        f"      when: {when}\n      audience: {{group_types: [welfare]}}\n      action: group_post\n"
        f"      content_type: value\n      template: {json.dumps(template)}\n{extra}"
    )


VALIDATE = ("sop", "validate")
BILLION_LAUGHS = "".join(
    [
        'lol0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]\n',
        *(f"lol{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]\n" for i in range(1, 10)),
    ]
)

YAML_CASES = [
    Case("yaml-list-nested-5000", VALIDATE, words=("zz_extra.yaml", "nested more than")),
    Case("yaml-map-nested-3000", VALIDATE, words=("zz_extra.yaml", "nested more than")),
    Case("yaml-billion-laughs", VALIDATE, words=("zz_extra.yaml", "expands to more than")),
    Case("yaml-too-many-aliases", VALIDATE, words=("zz_extra.yaml", "aliases")),
    Case("yaml-3mb", VALIDATE, words=("zz_extra.yaml", "larger than")),
    Case("yaml-python-tag", VALIDATE, words=("zz_extra.yaml",)),
    Case("yaml-python-apply-tag", VALIDATE, words=("zz_extra.yaml",)),
    Case("yaml-not-utf8", VALIDATE, words=("zz_extra.yaml", "UTF-8")),
    Case("yaml-tab-indent", VALIDATE, words=("zz_extra.yaml", "invalid YAML")),
    Case("yaml-duplicate-key", VALIDATE, words=("zz_extra.yaml", "duplicate key")),
    Case("yaml-unhashable-key", VALIDATE, words=("zz_extra.yaml",)),
    Case("yaml-top-level-list", VALIDATE, words=("zz_extra.yaml",)),
    Case("yaml-timezone-beijing", VALIDATE, words=(f"playbook.yaml:{_TIMEZONE_LINE}", "timezone", "Asia/Beijing")),
    Case("yaml-timezone-path", VALIDATE, words=(f"playbook.yaml:{_TIMEZONE_LINE}", "timezone")),
    Case("yaml-timezone-empty", VALIDATE, words=(f"playbook.yaml:{_TIMEZONE_LINE}", "timezone")),
    Case("yaml-timezone-beijing-import", ("import", "members", "m.csv"), words=(f"playbook.yaml:{_TIMEZONE_LINE}", "Asia/Beijing"),
         files={"m.csv": csv_members("1")}),
    Case("yaml-timezone-beijing-plan", ("plan", "--date", DAY), words=(f"playbook.yaml:{_TIMEZONE_LINE}", "Asia/Beijing")),
    Case("yaml-tier-min-1e30", VALIDATE, words=("playbook.yaml", "tiers.levels[1].min")),
    Case("yaml-growth-per-yuan-huge", VALIDATE, words=("playbook.yaml", "growth_per_yuan")),
    Case("yaml-points-per-yuan-inf", VALIDATE, words=("playbook.yaml", "points_per_yuan")),
    Case("yaml-coupon-value-inf", VALIDATE, words=(f"playbook.yaml:{_COUPON_LINE}", "coupons.repurchase.value_yuan")),
    Case("yaml-coupon-value-nan", VALIDATE, words=(f"playbook.yaml:{_COUPON_LINE}", "coupons.repurchase.value_yuan")),
    Case("yaml-coupon-value-1e20", VALIDATE, words=(f"playbook.yaml:{_COUPON_LINE}", "coupons.repurchase.value_yuan")),
    Case("yaml-coupon-threshold-inf", VALIDATE, words=(f"playbook.yaml:{_COUPON_LINE}", "threshold_yuan")),
    Case("yaml-coupon-valid-days-1e9", VALIDATE, words=(f"playbook.yaml:{_COUPON_LINE}", "valid_days")),
    Case("yaml-offset-5000000", VALIDATE, words=("zz_extra.yaml:5", "offset")),
    Case("yaml-node-offset-minus-5000000", VALIDATE, words=("zz_extra.yaml:5", "offset")),
    Case("yaml-catch-up-days-1e9", VALIDATE, words=("zz_extra.yaml", "catch_up_days")),
    Case("yaml-inactive-days-1e9", VALIDATE, words=("zz_extra.yaml:5", "days")),
    Case("yaml-silent-days-1e9", VALIDATE, words=("zz_extra.yaml:5", "days")),
    Case("yaml-nth-order-1e20", VALIDATE, words=("zz_extra.yaml:5", ".n")),
    Case("yaml-daily-from-year-1", VALIDATE, words=("zz_extra.yaml:5", "from")),
    Case("yaml-daily-to-year-9999", VALIDATE, words=("zz_extra.yaml:5", "to")),
    Case("yaml-priority-1000", VALIDATE, words=("zz_extra.yaml", "priority")),
    Case("yaml-condition-int-1e30", VALIDATE, words=("zz_extra.yaml", "recency_days")),
    Case("yaml-condition-float-inf", VALIDATE, words=("zz_extra.yaml", "orders_total")),
    Case("yaml-condition-money-inf", VALIDATE, words=("zz_extra.yaml", "spend_total")),
    Case("yaml-condition-money-1e30", VALIDATE, words=("zz_extra.yaml", "spend_total")),
    Case("yaml-condition-date-9999", VALIDATE, words=("zz_extra.yaml", "last_order_date")),
    Case("yaml-owner-capacity-1e30", VALIDATE, words=("playbook.yaml", "owner_daily_capacity")),
    Case("yaml-downgrade-window-1e9", VALIDATE, words=("playbook.yaml", "downgrade_window_days")),
    Case("yaml-playbook-is-a-fifo", VALIDATE, words=("no playbook found",)),
]

_YAML_SETUPS: dict[str, Callable[[Path], None]] = {
    "yaml-list-nested-5000": _extra_sop("deep: " + "[" * 5000 + "]" * 5000 + "\n"),
    "yaml-map-nested-3000": _extra_sop("deep: " + "{a: " * 3000 + "1" + "}" * 3000 + "\n"),
    "yaml-billion-laughs": _extra_sop(BILLION_LAUGHS),
    "yaml-too-many-aliases": _extra_sop("a: &x 1\nb: [" + ", ".join(["*x"] * 1500) + "]\n"),
    "yaml-3mb": _extra_sop("# " + "x" * (3 * 1024 * 1024) + "\n"),
    "yaml-python-tag": _extra_sop("brand: !!python/object/apply:os.system ['touch pwned']\n"),
    "yaml-python-apply-tag": _extra_sop("x: !!python/name:os.system\n"),
    "yaml-not-utf8": _extra_sop("brand: 茶语\n".encode("gb18030")),
    "yaml-tab-indent": _extra_sop("limits:\n\tdefault_owner: x\n"),
    "yaml-duplicate-key": _extra_sop("rfm: {scores: 5}\nrfm: {scores: 4}\n"),
    "yaml-unhashable-key": _extra_sop("? [a, b]\n: 1\n"),
    "yaml-top-level-list": _extra_sop("- 1\n- 2\n"),
    "yaml-timezone-beijing": _replace("playbook.yaml", "timezone: Asia/Shanghai", "timezone: Asia/Beijing"),
    "yaml-timezone-path": _replace("playbook.yaml", "timezone: Asia/Shanghai", "timezone: ../../../etc/passwd"),
    "yaml-timezone-empty": _replace("playbook.yaml", "timezone: Asia/Shanghai", 'timezone: ""'),
    "yaml-timezone-beijing-import": _replace("playbook.yaml", "timezone: Asia/Shanghai", "timezone: Asia/Beijing"),
    "yaml-timezone-beijing-plan": _replace("playbook.yaml", "timezone: Asia/Shanghai", "timezone: Asia/Beijing"),
    "yaml-tier-min-1e30": _replace("playbook.yaml", "min: 3000", "min: 1000000000000000000000000000000"),
    "yaml-growth-per-yuan-huge": _replace("playbook.yaml", "growth_per_yuan: 10", "growth_per_yuan: 100000000000000000000"),
    "yaml-points-per-yuan-inf": _replace("playbook.yaml", "points_per_yuan: 1.5", "points_per_yuan: .inf"),
    "yaml-coupon-value-inf": _replace("playbook.yaml", "value_yuan: 5,", "value_yuan: .inf,"),
    "yaml-coupon-value-nan": _replace("playbook.yaml", "value_yuan: 5,", "value_yuan: .nan,"),
    "yaml-coupon-value-1e20": _replace("playbook.yaml", "value_yuan: 5,", "value_yuan: 1.0e+20,"),
    "yaml-coupon-threshold-inf": _replace("playbook.yaml", "threshold_yuan: 25,", "threshold_yuan: .inf,"),
    "yaml-coupon-valid-days-1e9": _replace("playbook.yaml", "valid_days: 3}", "valid_days: 1000000000}"),
    "yaml-offset-5000000": _extra_sop(_rule('{trigger: joined, offset: 5000000, at: "10:00"}')),
    "yaml-node-offset-minus-5000000": _extra_sop(_rule('{trigger: node, node: double11, offset: -5000000, at: "10:00"}')),
    "yaml-catch-up-days-1e9": _extra_sop(_rule(extra="      catch_up_days: 1000000000\n")),
    "yaml-inactive-days-1e9": _extra_sop(_rule('{trigger: inactive_days, days: 1000000000, at: "10:00"}')),
    "yaml-silent-days-1e9": _extra_sop(_rule('{trigger: group_silent, days: 1000000000, at: "10:00"}')),
    "yaml-nth-order-1e20": _extra_sop(_rule('{trigger: nth_order, n: 100000000000000000000, at: "10:00"}')),
    "yaml-daily-from-year-1": _extra_sop(_rule('{trigger: daily, from: 0001-01-01, at: "10:00"}')),
    "yaml-daily-to-year-9999": _extra_sop(_rule('{trigger: daily, to: 9999-12-31, at: "10:00"}')),
    "yaml-priority-1000": _extra_sop(_rule(extra="      priority: 1000\n")),
    "yaml-condition-int-1e30": _extra_sop(_member_rule("{recency_days: {gt: 1000000000000000000000000000000}}")),
    "yaml-condition-float-inf": _extra_sop(_member_rule("{orders_total: {gt: .inf}}")),
    "yaml-condition-money-inf": _extra_sop(_member_rule("{spend_total: {gt: .inf}}")),
    "yaml-condition-money-1e30": _extra_sop(_member_rule("{spend_total: {gt: 1000000000000000000000000000000}}")),
    "yaml-condition-date-9999": _extra_sop(_member_rule("{last_order_date: {gt: 9999-12-31}}")),
    "yaml-owner-capacity-1e30": _replace("playbook.yaml", "limits:\n", "limits:\n  owner_daily_capacity: 1000000000000000000000000000000\n"),
    "yaml-downgrade-window-1e9": _replace("playbook.yaml", "growth_per_yuan: 10", "growth_per_yuan: 10\n  downgrade_window_days: 1000000000"),
    "yaml-playbook-is-a-fifo": lambda ws: os.mkfifo(ws / "sops" / "zz_extra.yaml"),
}
YAML_CASES = [Case(c.name, c.args, c.code, c.words, c.files, _YAML_SETUPS[c.name]) for c in YAML_CASES]


TEMPLATE_CASES = [
    Case(f"template-{label}", VALIDATE, words=("zz_extra.yaml", "template", *words), setup=_extra_sop(_rule(template=text)))
    for label, text, words in [
        ("range-million", "{{ range(1000000) }}", ("range()",)),
        ("range-in-loop", "{% for i in range(1000000) %}x{% endfor %}", ("range()",)),
        ("undefined-divided-by-zero", "{{ x/0 }}", ("undefined",)),
        ("divide-by-zero", "{{ 1/0 }}", ("ZeroDivisionError",)),
        ("modulo-by-zero", "{{ 1 % 0 }}", ("ZeroDivisionError",)),
        ("floor-divide-by-zero", "{{ 1 // 0 }}", ("ZeroDivisionError",)),
        ("repeat-300mb", "{{ 'x' * 300000000 }}", ("repeating",)),
        ("repeat-list", "{{ [1] * 100000000 }}", ("repeating",)),
        ("nested-loops", "{% for i in range(1000) %}{% for j in range(1000) %}{% endfor %}{% endfor %}", ("loops ran",)),
        ("string-loops", "{% for a in 'x' * 5000 %}{% for b in 'y' * 5000 %}{% endfor %}{% endfor %}", ("loops ran",)),
        ("long-message", "{% for i in range(201) %}0123456789{% endfor %}", ("longer than 2000",)),
        ("doubling-concat", "{% set ns = namespace(s='xx') %}{% for i in range(60) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}", ("text or a list",)),
        ("doubling-plus", "{% set ns = namespace(s='xx') %}{% for i in range(60) %}{% set ns.s = ns.s + ns.s %}{% endfor %}", ("text or a list",)),
        ("power", "{{ 2 ** 100000000 }}", ("exponent",)),
        ("percent-width", "{{ '%999999999d' % 1 }}", ("format width",)),
        ("format-width", "{{ '{:>999999999}'.format(1) }}", ("format width",)),
        ("format-filter-width", "{{ '%099999999d'|format(1) }}", ("format width",)),
        ("center-filter", "{{ 'x'|center(999999999) }}", ("width",)),
        ("indent-filter", "{{ 'x'|indent(999999999) }}", ("width",)),
        ("recursive-macro", "{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}", ("RecursionError",)),
        ("lipsum", "{{ lipsum(1000000000) }}", ("lipsum",)),
        ("dunder", "{{ ''.__class__.__mro__ }}", ("unsafe",)),
        ("globals", "{{ cycler.__init__.__globals__ }}", ("unsafe",)),
        ("include", "{% include 'x.html' %}", ()),
        ("syntax", "{% for %}", ()),
        ("unclosed", "{{ brand ", ()),
        ("type-error", "{{ [] + 1 }}", ("TypeError",)),
        ("attribute-of-undefined", "{{ member.name.nope.deeper }}", ()),
    ]
]


def _template_failing_for_some_members(ws: Path) -> None:
    """A template fine with the sample member (1,280 points) that fails for members of this
    workspace: 0 points divide by zero, 20,000 points repeat past the text bound."""
    rule = _member_rule("{orders_total: {gte: 0}}").replace('"hi"', json.dumps("{{ 100 // member.points }} {{ ('x' * member.points)|length }}"))
    _extra_sop(rule)(ws)
    (ws / "m.csv").write_text("会员卡号,客户名称,注册时间,积分\n8001,零,2026-11-23 09:00:00,0\n8002,多,2026-11-23 09:00:00,20000\n", encoding="utf-8")
    assert _invoke(ws, "import", "members", "m.csv").exit_code == 0


def _blocked_by_the_sandbox(res: Result, _ws: Path) -> None:
    causes = {b["member_id"]: b["cause"] for b in json.loads(res.stdout)["blocked"] if b["rule"] == "hostile"}
    assert "ZeroDivisionError" in causes["8001"] and "repeating text" in causes["8002"], causes
    assert "warning: " in res.stderr and "blocked" in res.stderr


PLAN_TEMPLATE_CASES = [
    Case("template-fails-at-plan-time-is-blocked", ("plan", "--date", DAY, "--format", "json"), 0,
         setup=_template_failing_for_some_members, check=_blocked_by_the_sandbox),
    Case("template-fails-at-plan-time-strict", ("plan", "--date", DAY, "--strict"), words=("blocked", "--strict"),
         setup=_template_failing_for_some_members),
]


def test_templates_that_pass_are_untouched_by_the_bounds() -> None:
    """The bounds leave ordinary templates alone: loops, filters, formats and long-ish messages."""
    names = frozenset({"brand", "date", "member"})
    for text in ("{{ member.name }}，{{ brand }}欢迎您", "{% for i in range(5) %}{{ i }}{% endfor %}",
                 "{{ '%05.1f' % 3.14159 }}", "{{ '{:>10}'.format(member.name) }}", "{{ 'x' * 1500 }}",
                 "{{ member.name|center(40) }}", "{{ 2 ** 10 }}"):
        assert check_template(text, names) is None, text


# ---------------------------------------------------------------- options

OPTION_CASES = [
    *(
        Case(f"date-{cmd}-{value}", (cmd, "--date", value), words=("--date", value))
        for cmd in ("members", "plan", "tiers", "segments", "report", "tasks")
        for value in ("9999-12-31", "0001-01-01")
    ),
    *(
        Case(f"date-plan-{label}", ("plan", "--date", value), words=("--date",))
        for label, value in [("feb-30", "2026-02-30"), ("compact", "20261123"), ("slashes", "2026/11/23"),
                             ("year-2201", "2201-01-01"), ("year-1899", "1899-12-31"), ("empty", " "),
                             ("week", "2026-W47-1"), ("with-time", "2026-11-23T10:00")]
    ),
    Case("date-member-9999", ("member", "000001", "--date", "9999-12-31"), words=("--date",)),
    Case("date-demo-9999", ("demo", "--date", "9999-12-31"), words=("--date",)),
    Case("from-calendar-9999", ("calendar", "--from", "9999-12-31"), words=("--from",)),
    Case("from-schedule-0001", ("schedule", "--from", "0001-01-01"), words=("--from",)),
    Case("days-schedule-huge", ("schedule", "--days", "100000000000000000000"), 2, words=("--days",)),
    Case("days-calendar-zero", ("calendar", "--days", "0"), 2, words=("--days",)),
    Case("limit-1e20", ("members", "--limit", "1e20"), 2, words=("--limit",)),
    Case("limit-20-digits", ("members", "--limit", "100000000000000000000"), 2, words=("--limit",)),
    Case("limit-zero", ("members", "--limit", "0"), 2, words=("--limit",)),
    Case("what-if-1e20", ("tiers", "--what-if", "silver=1e20"), words=("--what-if", "silver=1e20")),
    Case("what-if-24-digits", ("tiers", "--what-if", "silver=" + "1" * 24), words=("--what-if", "largest")),
    Case("what-if-5000-digits", ("tiers", "--what-if", "silver=" + "9" * 5000), words=("--what-if", "largest")),
    Case("what-if-negative", ("tiers", "--what-if", "silver=-5"), words=("--what-if",)),
    Case("what-if-fullwidth-digits", ("tiers", "--what-if", "silver=３０００"), words=("--what-if",)),
    Case("what-if-no-tier", ("tiers", "--what-if", "platinum=5"), words=("--what-if", "platinum")),
    Case("stage-unknown", ("plan", "--stage", "drop"), words=("--stage", "drop")),
    Case("action-unknown", ("plan", "--action", "rm -rf"), words=("--action",)),
    Case("tier-unknown", ("members", "--tier", "diamond"), words=("--tier", "diamond")),
    Case("segment-unknown", ("members", "--segment", "zombie"), words=("--segment", "zombie")),
    Case("rfm-class-unknown", ("members", "--rfm-class", "x"), words=("--rfm-class",)),
    Case("member-unknown", ("member", "nobody"), words=("nobody",)),
    Case("member-sql", ("member", "' OR 1=1 --"), words=("OR 1=1",)),
    Case("format-unknown", ("members", "--format", "xml"), 2, words=("xml",)),
    Case("done-unknown-ids", ("done", "no-such-task"), words=("no-such-task",)),
    Case("owner-sql-is-a-filter", ("members", "--owner", "x' OR '1'='1", "--format", "json"), 0,
         check=lambda res, _ws: json.loads(res.stdout) == [] or _fail(res.stdout)),
]


# ---------------------------------------------------------------- databases


def _foreign(ws: Path, tables: bool = True) -> None:
    conn = sqlite3.connect(ws / "other.db")
    if tables:
        conn.execute("CREATE TABLE members (id INTEGER, secret TEXT)")
        conn.execute("INSERT INTO members VALUES (1, 'theirs')")
        conn.commit()
    else:
        conn.execute("VACUUM")
    conn.close()


def _foreign_wal(ws: Path) -> None:
    conn = sqlite3.connect(ws / "other.db")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("CREATE TABLE notes (x)")
    conn.commit()
    conn.close()


FOREIGN = ("--db", "other.db")
DB_CASES = [
    *(
        Case(f"foreign-{'-'.join(cmd)}", (*FOREIGN, *cmd), words=("other.db", "not a privdom workspace"), setup=_foreign,
             files={"m.csv": csv_members("1")})
        for cmd in [("members",), ("plan", "--date", DAY), ("plan", "--save", "--date", DAY), ("tasks",), ("tiers",),
                    ("segments",), ("report",), ("import", "members", "m.csv"), ("done", "x"), ("init",), ("member", "1"),
                    ("schedule",)]
    ),
    Case("foreign-wal-members", (*FOREIGN, "members"), words=("other.db", "not a privdom workspace"), setup=_foreign_wal),
    Case("sqlite-without-tables-read", (*FOREIGN, "members"), words=("other.db", "no workspace"), setup=lambda ws: _foreign(ws, False)),
    Case("empty-file-read", (*FOREIGN, "plan", "--date", DAY), words=("other.db", "empty"), files={"other.db": b""}),
    Case("text-file-as-db", (*FOREIGN, "members"), words=("other.db", "not a privdom workspace"), files={"other.db": "hello\n" * 100}),
    Case("dev-null-as-db", ("--db", "/dev/null", "members"), words=("/dev/null", "not a regular file")),
    Case("dev-null-as-db-init", ("--db", "/dev/null", "init"), words=("/dev/null", "not a regular file")),
    Case("folder-as-db", ("--db", "sops", "members"), words=("sops", "not a regular file")),
    Case("missing-db-read", ("--db", "nowhere.db", "members"), words=("nowhere.db",),
         check=lambda res, ws: not (ws / "nowhere.db").exists() or _fail("created")),
    Case("newer-schema", ("members",), words=("newer than this privdom",),
         setup=lambda ws: _pragma(ws / "privdom.db", "user_version = 999")),
    Case("other-application-id", ("members",), words=("not a privdom workspace",),
         setup=lambda ws: _pragma(ws / "privdom.db", "application_id = 12345")),
    Case("damaged-workspace", ("members",), words=("privdom.db", "damaged"), setup=lambda ws: _truncate(ws / "privdom.db")),
]


def _pragma(db: Path, pragma: str) -> None:
    conn = sqlite3.connect(db)
    conn.execute(f"PRAGMA {pragma}")
    conn.commit()
    conn.close()


def _truncate(db: Path) -> None:
    data = db.read_bytes()
    db.write_bytes(data[:100] + b"\xff" * (len(data) - 100))


# ---------------------------------------------------------------- metrics snapshots


def _snapshot_files(ws: Path) -> list[Path]:
    return sorted(ws.glob("privdom.db-metrics-*"))


def _damage_snapshot(how: str) -> Callable[[Path], None]:
    def damage(ws: Path) -> None:
        res = _invoke(ws, "plan", "--date", DAY, "--format", "json")
        assert res.exit_code == 0, res.stderr
        (ws / "good.json").write_text(res.stdout, encoding="utf-8")
        (snap,) = _snapshot_files(ws)
        data = snap.read_bytes()
        if how == "truncated":
            snap.write_bytes(data[: len(data) // 2])
        elif how == "random":
            snap.write_bytes(os.urandom(len(data)))
        elif how == "header-only":
            snap.write_bytes(data[:100])
        elif how == "checksum":
            _pragma(snap, "user_version = 7")
        elif how == "no-table":
            snap.unlink()
            conn = sqlite3.connect(snap)
            conn.execute("CREATE TABLE other (x)")
            conn.commit()
            conn.close()
        elif how == "dropped-index":
            conn = sqlite3.connect(snap)
            conn.execute("DROP INDEX member_metrics_spend")
            conn.commit()
            conn.close()
        elif how == "zeroed-tail":
            snap.write_bytes(data[: len(data) - 16384] + bytes(16384))

    return damage


def _healed(res: Result, ws: Path) -> None:
    assert res.stdout == (ws / "good.json").read_text(encoding="utf-8")
    (warning,) = [line for line in res.stderr.splitlines() if line.startswith("warning:")]
    assert "privdom.db-metrics-" in warning and "rebuilt" in warning
    assert len(_snapshot_files(ws)) == 1


SNAPSHOT_CASES = [
    Case(f"snapshot-{how}", ("plan", "--date", DAY, "--format", "json"), 0, setup=_damage_snapshot(how), check=_healed)
    for how in ("truncated", "random", "header-only", "checksum", "no-table", "dropped-index")
]


# ---------------------------------------------------------------- outputs: privacy and forged lines


def _no_phone_unless_asked(res: Result, _ws: Path) -> None:
    assert PHONE not in res.stdout and "13900000002" not in res.stdout, res.stdout[:2000]


def _csv_escaped(res: Result, _ws: Path) -> None:
    _no_phone_unless_asked(res, _ws)
    for cell in _csv_cells(res.stdout):
        assert not cell.startswith(("=", "+", "-", "@")), cell


def _csv_cells(text: str) -> Iterator[str]:
    import csv
    import io

    for row in csv.reader(io.StringIO(text)):
        yield from row


def _md_unforged(res: Result, _ws: Path) -> None:
    _no_phone_unless_asked(res, _ws)
    lines = res.stdout.splitlines()
    assert not any(line.lstrip().startswith("- [ ] 伪造任务") for line in lines), res.stdout
    assert any("伪" in line for line in lines)  # the member is there, on its task's own line
    assert all(line.startswith(("#", "- [", "- ")) or not line.strip() for line in lines), res.stdout


def _table_unforged(res: Result, _ws: Path) -> None:
    _no_phone_unless_asked(res, _ws)
    assert not any(line.lstrip().startswith("- [ ] 伪造任务") for line in res.stdout.splitlines())
    assert "\x1b" not in res.stdout


def _name_on_one_line(res: Result, _ws: Path) -> None:
    _table_unforged(res, _ws)
    assert "伪 ⏎" in res.stdout, res.stdout  # the name's line break, shown inside its cell


def _shows_phone(res: Result, _ws: Path) -> None:
    assert PHONE in res.stdout


PLAN = ("plan", "--date", DAY)
PRIVACY_CASES = [
    *(Case(f"privacy-members-{fmt}", ("members", "--date", DAY, "--format", fmt), 0, check=check)
      for fmt, check in [("table", _name_on_one_line), ("json", _no_phone_unless_asked), ("csv", _csv_escaped)]),
    *(Case(f"privacy-member-{fmt}", ("member", "000001", "--date", DAY, "--format", fmt), 0, check=_no_phone_unless_asked)
      for fmt in ("table", "json")),
    *(Case(f"privacy-plan-{fmt}", (*PLAN, "--format", fmt), 0, check=check)
      for fmt, check in [("table", _name_on_one_line), ("json", _no_phone_unless_asked), ("csv", _csv_escaped), ("md", _md_unforged)]),
    *(Case(f"privacy-tasks-{fmt}", ("tasks", "--date", DAY, "--format", fmt), 0, check=check, setup=lambda ws: _save(ws))
      for fmt, check in [("table", _table_unforged), ("json", _no_phone_unless_asked), ("csv", _csv_escaped), ("md", _md_unforged)]),
    Case("privacy-report-json", ("report", "--date", DAY, "--format", "json"), 0, check=_no_phone_unless_asked),
    Case("privacy-segments-json", ("segments", "--date", DAY, "--format", "json"), 0, check=_no_phone_unless_asked),
    Case("privacy-rejects-file", ("import", "members", "m.csv", "--dry-run", "--rejects", "rejects.csv"), 0,
         files={"m.csv": f"会员卡号,手机号\n,{PHONE}\n=1+1,x\n"},
         check=lambda res, ws: all(not c.startswith(("=", "+", "-", "@")) for c in _csv_cells((ws / "rejects.csv").read_text(encoding="utf-8"))) or _fail("formula")),
    # --rejects is checked before the import reads anything (issue 16), so nothing was imported.
    Case("rejects-file-in-a-missing-folder", ("import", "members", "m.csv", "--dry-run", "--rejects", "no/such/dir/r.csv"),
         words=("nothing was imported", "--rejects no/such/dir/r.csv"), files={"m.csv": "会员卡号,手机号\n,x\n"}),
    Case("rejects-file-is-a-folder", ("import", "members", "m.csv", "--dry-run", "--rejects", "sops"),
         words=("nothing was imported", "--rejects sops is a directory"), files={"m.csv": "会员卡号,手机号\n,x\n"}),
    Case("report-html-is-a-folder", ("report", "--date", DAY, "--html", "sops"), words=("sops",)),
    Case("privacy-show-pii-members-json", ("members", "--date", DAY, "--format", "json", "--show-pii"), 0, check=_shows_phone),
    Case("privacy-show-pii-members-csv", ("members", "--date", DAY, "--format", "csv", "--show-pii"), 0, check=_shows_phone),
    Case("privacy-crash-log-has-no-phone", ("members",), 3, words=("internal error",),
         check=lambda res, ws: all(PHONE not in p.read_text(encoding="utf-8") for p in (ws / "logs").glob("*.log")) or _fail("phone in log")),
]


def _save(ws: Path) -> None:
    res = _invoke(ws, *PLAN, "--save", "--format", "json")
    assert res.exit_code == 0, res.stderr


# ---------------------------------------------------------------- honest messages and demo


def _devfull_saved(res: Result, ws: Path) -> None:
    saved = _one(ws, f"SELECT count(*) FROM tasks WHERE date = '{DAY}'")
    assert saved > 0
    assert res.stderr.splitlines()[-2] == f"error: saved {saved} new tasks (0 already saved); output failed: No space left on device"


OUTPUT_CASES = [
    Case("demo-into-a-workspace", ("demo", "--dir", "."), words=("--dir", "already holds a workspace")),
    Case("demo-into-a-folder-with-files", ("demo", "--dir", "sops"), words=("--dir", "already holds files")),
    Case("demo-into-a-file", ("demo", "--dir", "privdom.db"), words=("--dir", "not a folder")),
]


# ---------------------------------------------------------------- the runner


ALL = [*CSV_CASES, *XLSX_CASES, *YAML_CASES, *TEMPLATE_CASES, *PLAN_TEMPLATE_CASES, *OPTION_CASES, *DB_CASES, *SNAPSHOT_CASES,
       *PRIVACY_CASES, *OUTPUT_CASES]


def test_the_table_is_big_and_its_names_unique() -> None:
    assert len(ALL) >= 150
    assert len({c.name for c in ALL}) == len(ALL)


@pytest.mark.parametrize("case", ALL, ids=[c.name for c in ALL])
def test_hostile(case: Case, ws: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, content in case.files.items():
        path = ws / name
        path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    if case.setup is not None:
        case.setup(ws)
    if case.name == "privacy-crash-log-has-no-phone":
        _break_members_rendering(monkeypatch)
    before = dump(ws / "privdom.db")
    other = (ws / "other.db").read_bytes() if (ws / "other.db").exists() else None
    started = time.monotonic()
    res = _invoke(ws, *case.args)
    elapsed = time.monotonic() - started

    assert res.exit_code == case.code, (res.stdout[-2000:], res.stderr[-2000:])
    assert "Traceback" not in res.stderr
    if case.code == 1:
        errors = [line for line in res.stderr.splitlines() if line.startswith("error:")]
        assert len(errors) == 1, res.stderr
        assert all(word in errors[0] for word in case.words), errors[0]
        assert any(line.startswith("hint:") for line in res.stderr.splitlines()), res.stderr
    elif case.code == 2:
        assert all(word in res.stderr for word in case.words), res.stderr
    else:
        assert all(word in res.stdout + res.stderr for word in case.words), (res.stdout[-2000:], res.stderr[-2000:])
        assert "error:" not in res.stderr or case.code == 3, res.stderr
    if case.check is not None:
        case.check(res, ws)
    if not case.changes:
        assert dump(ws / "privdom.db") == before
    if other is not None:
        assert (ws / "other.db").read_bytes() == other  # another application's file, byte for byte
    assert elapsed < 10, f"{case.name} took {elapsed:.1f} s"  # the bound is on hangs, not a benchmark
    assert not (ws / "pwned").exists()


def _break_members_rendering(monkeypatch: pytest.MonkeyPatch) -> None:
    """A bug while member rows (phones among them) are in local variables: the log must not show them."""
    import privdom.render.members as render

    def broken(rows: Any, *args: Any) -> None:
        rows = list(rows)
        raise RuntimeError("boom")

    monkeypatch.setattr(render, "members", broken)


@pytest.mark.faults
def test_plan_save_to_a_full_device_says_what_was_saved(ws: Path) -> None:
    """`plan --save --format md > /dev/full`: the tasks are saved, and the message says so."""
    env = {**os.environ, "PYTHONPATH": str(Path(privdom.__file__).parent.parent)}
    with open("/dev/full", "w") as full:
        proc = subprocess.run([sys.executable, "-m", "privdom", *PLAN, "--save", "--format", "md"], cwd=ws, env=env,
                              stdout=full, stderr=subprocess.PIPE, timeout=60)
    assert proc.returncode == 1
    res = Result(proc.returncode, "", proc.stderr.decode())
    _devfull_saved(res, ws)
    assert res.stderr.splitlines()[-1].startswith("hint: the tasks are kept")
    again = _invoke(ws, *PLAN, "--save", "--format", "json")
    assert again.stderr.startswith("saved 0 new tasks")  # nothing twice


@pytest.mark.faults
def test_import_to_a_full_device_says_what_was_imported(ws: Path) -> None:
    (ws / "m.csv").write_text(csv_members("12"), encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(Path(privdom.__file__).parent.parent)}
    with open("/dev/full", "w") as full:
        proc = subprocess.run([sys.executable, "-m", "privdom", "import", "members", "m.csv", "--format", "json"], cwd=ws,
                              env=env, stdout=full, stderr=subprocess.PIPE, timeout=60)
    assert proc.returncode == 1
    error = proc.stderr.decode().splitlines()[0]
    assert re.fullmatch(r"error: imported m\.csv \(import #\d+\); output failed: No space left on device", error), error
    assert _one(ws, "SELECT count(*) FROM members WHERE member_id = '9000'") == 1


def test_a_member_named_to_forge_a_task_stays_on_one_line_in_every_plan_format(ws: Path) -> None:
    md = _invoke(ws, *PLAN, "--format", "md")
    (line,) = [line for line in md.stdout.splitlines() if "伪" in line]
    assert line.startswith("- [ ] ") and "伪 ⏎ - \\[ \\] 伪造任务" in line
    pipes = [line for line in md.stdout.splitlines() if "a\\|b \\| c" in line]
    assert pipes, md.stdout


# ---------------------------------------------------------------- faults: signals, two processes, a full disk


def _subprocess(ws: Path, *args: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(Path(privdom.__file__).parent.parent), "PRIVDOM_LOG_DIR": str(ws / "logs")}
    return subprocess.Popen([sys.executable, "-m", "privdom", *args], cwd=ws, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)


def _big_members(ws: Path, rows: int = 60_000) -> Path:
    path = ws / "big.csv"
    with path.open("w", encoding="utf-8") as f:
        f.write("会员卡号,客户名称,手机号,累计消费金额\n")
        f.writelines(f"B{i:07d},名{i},139{i:08d},{i}.5\n" for i in range(rows))
    return path


@pytest.mark.faults
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "kill-9"])
def test_a_signal_mid_import_leaves_the_workspace_as_it_was(ws: Path, sig: signal.Signals) -> None:
    big = _big_members(ws)
    before = dump(ws / "privdom.db")
    proc = _subprocess(ws, "import", "members", str(big))
    wait_for_write_lock(ws / "privdom.db", proc)
    proc.send_signal(sig)
    proc.communicate(timeout=60)
    assert proc.returncode == -sig
    assert dump(ws / "privdom.db") == before
    assert _one(ws, "PRAGMA integrity_check") == "ok"


@pytest.mark.faults
def test_two_plan_saves_at_once_issue_every_task_once(ws: Path) -> None:
    procs = [_subprocess(ws, *PLAN, "--save", "--format", "json") for _ in range(2)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [err.decode() for _out, err in outs]
    planned = {t["id"] for t in json.loads(outs[0][0])["tasks"]}
    assert _one(ws, f"SELECT count(*) FROM tasks WHERE date = '{DAY}'") == len(planned)
    saved = sorted(re.match(r"saved (\d+) new", err.decode()).group(1) for _out, err in outs)  # type: ignore[union-attr]
    assert saved == ["0", str(len(planned))]


def _tmpfs(mount: Path, *options: str) -> None:
    """Mount a tmpfs at `mount`, where the test may (root on Linux); else skip the test, saying why."""
    mount.mkdir(exist_ok=True)
    if sys.platform != "linux" or shutil.which("mount") is None:
        pytest.skip("needs a tmpfs of its own: mount(8) on Linux")
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", ",".join(options), "tmpfs", str(mount)], capture_output=True)
    if proc.returncode != 0:
        pytest.skip(f"needs a tmpfs of its own, and this user may not mount one: {proc.stderr.decode().strip()}")


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 3 MB disk."""
    mount = tmp_path / "small-disk"
    _tmpfs(mount, "size=3m")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


@pytest.mark.faults
def test_a_read_only_workspace_is_exit_1_with_a_hint(base: Path, tmp_path: Path) -> None:
    mount = tmp_path / "read-only"
    _tmpfs(mount, "size=20m")
    try:
        ws = mount / "ws"
        shutil.copytree(base, ws)
        (ws / "m.csv").write_text(csv_members("1"), encoding="utf-8")
        before = dump(ws / "privdom.db")
        subprocess.run(["mount", "-o", "remount,ro", str(mount)], check=True)
        for args in (("members",), (*PLAN, "--save"), ("import", "members", "m.csv"), ("init",)):
            res = _invoke(ws, *args)
            assert res.exit_code == 1, res.stderr
            assert "error: privdom.db is read-only here" in res.stderr and "hint: privdom writes" in res.stderr
        subprocess.run(["mount", "-o", "remount,rw", str(mount)], check=True)
        assert dump(ws / "privdom.db") == before
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


@pytest.mark.faults
def test_a_full_disk_mid_import_is_exit_1_and_changes_nothing(base: Path, small_disk: Path) -> None:
    ws = small_disk / "ws"
    shutil.copytree(base, ws)
    big = _big_members(ws.parent, 40_000)  # ~2 MB on the same small disk
    before = dump(ws / "privdom.db")
    proc = _subprocess(ws, "import", "members", str(big))
    _out, err = proc.communicate(timeout=120)
    assert proc.returncode == 1, err.decode()
    lines = err.decode().splitlines()
    assert lines[0].startswith("error: no space left on the disk") and lines[1].startswith("hint:")
    assert dump(ws / "privdom.db") == before
