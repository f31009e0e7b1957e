"""The example brand generator: deterministic, honest about encodings, and the committed copy is fresh."""

from __future__ import annotations

import csv
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]
BRAND = ROOT / "examples" / "brand"


def load_generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("teatalk_generate", ROOT / "examples" / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def gen() -> ModuleType:
    return load_generator()


def test_same_arguments_give_the_same_bytes(gen: ModuleType, tmp_path: Path) -> None:
    first = gen.generate(tmp_path / "a", 300)
    second = gen.generate(tmp_path / "b", 300)
    assert sorted(first) == ["activity", "group_members", "groups", "members", "orders"]
    for kind, path in first.items():
        assert path.read_bytes() == second[kind].read_bytes(), kind


def test_another_seed_gives_other_data(gen: ModuleType, tmp_path: Path) -> None:
    a = gen.generate(tmp_path / "a", 200, seed=7)
    b = gen.generate(tmp_path / "b", 200, seed=8)
    assert a["orders"].read_bytes() != b["orders"].read_bytes()


def test_committed_brand_equals_a_fresh_generation(gen: ModuleType, tmp_path: Path) -> None:
    fresh = gen.generate(tmp_path, 2000)
    for path in fresh.values():
        committed = BRAND / path.name
        assert committed.read_bytes() == path.read_bytes(), f"{committed.name} was edited or is stale"


def test_members_file_is_gb18030_not_utf8() -> None:
    raw = (BRAND / "members.csv").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    text = raw.decode("gb18030")
    assert text.startswith("会员卡号,客户名称,昵称,手机号,")
    # Emoji and supplementary-plane characters survive only because GB18030 holds them.
    assert any(ord(ch) > 0xFFFF for ch in text)


def test_orders_file_starts_with_utf8_bom() -> None:
    raw = (BRAND / "orders.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    assert raw[3:].decode("utf-8").startswith("订单号,会员卡号,手机号,支付时间,实付金额,订单状态,")


def test_headers_are_the_documented_ones(gen: ModuleType) -> None:
    expected = {
        "members.csv": ("gb18030", gen.MEMBERS_HEADER),
        "orders.csv": ("utf-8-sig", gen.ORDERS_HEADER),
        "groups.csv": ("utf-8", "群ID,群名称,群类型,群主,群人数,群上限,创建时间,城市,标签".split(",")),
        "group_members.csv": ("utf-8", ["群ID", "会员卡号", "入群时间", "退群时间"]),
        "activity.csv": ("utf-8", ["日期", "群ID", "会员卡号", "发言数", "图片数"]),
    }
    for name, (encoding, header) in expected.items():
        with open(BRAND / name, encoding=encoding, newline="") as fh:
            assert next(csv.reader(fh)) == header, name


def test_member_ids_keep_leading_zeros_and_orders_point_at_members() -> None:
    with open(BRAND / "members.csv", encoding="gb18030", newline="") as fh:
        ids = [row["会员卡号"] for row in csv.DictReader(fh)]
    assert len(ids) == len(set(ids)) == 2000
    assert all(len(i) == 8 and i.startswith("000") for i in ids)
    with open(BRAND / "orders.csv", encoding="utf-8-sig", newline="") as fh:
        cards = {row["会员卡号"] for row in csv.DictReader(fh)}
    assert cards - {""} <= set(ids)


def load_bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("privdom_bench", ROOT / "bench" / "run.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


def test_benchmark_reports_a_failing_step_instead_of_crashing(tmp_path: Path) -> None:
    bench = load_bench()
    script = "import sys; print('no such command', file=sys.stderr); sys.exit(2)"
    failed = bench.measure("broken", [sys.executable, "-c", script])
    assert failed.status == "failed"
    assert failed.error == "exit 2: no such command"
    ok = bench.measure("fine", [sys.executable, "-c", "print('x' * 10)"], rows=10,
                       stdout_path=tmp_path / "out.txt")
    assert ok.status == "ok" and ok.rows == 10 and ok.peak_rss_mb and ok.peak_rss_mb > 1
    assert (tmp_path / "out.txt").read_text() == "x" * 10 + "\n"


def test_benchmark_counts_records_not_lines(tmp_path: Path) -> None:
    bench = load_bench()
    path = tmp_path / "m.csv"
    path.write_text('a,b\n1,"two\nlines"\n2,x\n', encoding="gb18030")
    assert bench.count_records(path, "gb18030") == 2
