# ruff: noqa: E501 - strategies and CSV text read best on one line
"""Properties of the record and cell rules: whatever the file, a record that does not line up with
its header is rejected alone, and every other record is read exactly as written."""

from __future__ import annotations

import csv
import io
import tempfile
from pathlib import Path
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from privdom.ingest import cells
from privdom.ingest.headers import map_header, normalise
from privdom.ingest.quotes import MAX_LINES, Unbalanced, balanced_records
from privdom.ingest.reader import open_source
from privdom.ingest.records import records
from privdom.ingest.report import ImportReport, Reject
from privdom.ingest.rows import RowParser

HEADER = ["会员卡号", "客户名称", "描述", "所属门店"]
# Cell text as exports hold it: Chinese, Latin, digits, spaces, money signs and dots; no quotes or
# delimiters (those are what the properties add).
TEXT = st.text(alphabet="甲乙丙丁张李王要发票抬头个人abcXYZ0123456789 ¥.-", min_size=1, max_size=12).map(str.strip).filter(bool)
ROWS = st.lists(st.tuples(TEXT, TEXT, TEXT), min_size=1, max_size=25)


def _read(text: str) -> tuple[dict[str, tuple[object, ...]], list[tuple[int, str]]]:
    """The members a file's records become (id -> name, store, extra) and the rejects (line, reason)."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "m.csv"
        path.write_text(text, encoding="utf-8")
        src = open_source(path)
        try:
            report = ImportReport(kind="members", file=str(path), sha256="", encoding=src.encoding)
            hmap = map_header("members", src.header)
            parser = RowParser("members", src.header, hmap, ZoneInfo("Asia/Shanghai"), phone_id=lambda p: p)
            pos = parser.pos
            kept: dict[str, tuple[object, ...]] = {}
            for record, line, row in records(src, report):
                vals = parser.values(row)
                if isinstance(vals, str):
                    report.rejects.append(Reject(record=record, line=line, reason=vals, raw=""))
                    continue
                kept[str(vals[0])] = (vals[pos["name"]], vals[pos["store"]], vals[pos["extra"]])
        finally:
            src.close()
    return kept, [(r.line, r.reason) for r in report.rejects]


def _expected(rows: list[tuple[str, str, str]], skip: int) -> dict[str, tuple[object, ...]]:
    return {
        f"M{i}": (name, store, f'{{"描述": "{note}"}}')
        for i, (name, note, store) in enumerate(rows)
        if i != skip
    }


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ROWS, st.data())
def test_one_stray_delimiter_rejects_that_record_only(rows: list[tuple[str, str, str]], data: st.DataObject) -> None:
    at = data.draw(st.integers(0, len(rows) - 1), label="row")
    column = data.draw(st.integers(1, 3), label="cell")
    lines = [",".join(HEADER)]
    for i, (name, note, store) in enumerate(rows):
        cells_ = [f"M{i}", name, note, store]
        if i == at:
            cell = cells_[column]
            cut = data.draw(st.integers(0, len(cell)), label="where")
            cells_[column] = cell[:cut] + "," + cell[cut:]
        lines.append(",".join(cells_))
    kept, rejects = _read("\n".join(lines) + "\n")
    assert rejects == [(at + 2, "field_count")]
    assert kept == _expected(rows, at)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ROWS, st.data())
def test_one_unbalanced_quote_rejects_that_record_only(rows: list[tuple[str, str, str]], data: st.DataObject) -> None:
    at = data.draw(st.integers(0, len(rows) - 1), label="row")
    lines = [",".join(HEADER)]
    for i, (name, note, store) in enumerate(rows):
        lines.append(",".join([f"M{i}", name, '"' + note if i == at else note, store]))
    kept, rejects = _read("\n".join(lines) + "\n")
    assert rejects == [(at + 2, "unbalanced_quote")]
    assert kept == _expected(rows, at)


@settings(max_examples=80, deadline=None)
@given(st.lists(st.lists(TEXT | st.text(max_size=8), min_size=1, max_size=4), max_size=12))
def test_well_formed_csv_reads_as_the_csv_module_reads_it(table: list[list[str]]) -> None:
    """Quoted cells with delimiters, quotes and line breaks in them: record for record what
    csv.reader gives, each on the physical line it starts on."""
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(table)
    text = out.getvalue()
    want = list(csv.reader(io.StringIO(text, newline="")))
    got = _balanced(text)
    assert [row for _, row in got] == want
    assert not any(type(row) is Unbalanced for _, row in got)
    line = 1
    for (at, _row), physical in zip(got, _physical_lines(text), strict=True):
        assert at == line
        line += physical


def _balanced(text: str) -> list[tuple[int, list[str]]]:
    lines = list(io.StringIO(text, newline=""))
    return list(balanced_records(iter(lines), ",", 1, lambda n: iter(lines[n:])))


def _physical_lines(text: str) -> list[int]:
    reader = csv.reader(io.StringIO(text, newline=""))
    counts, before = [], 0
    for _ in reader:
        counts.append(reader.line_num - before)
        before = reader.line_num
    return counts


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 3), st.integers(1, MAX_LINES + 20), st.integers(0, 5), st.booleans())
def test_a_quoted_cell_past_the_bound_is_rejected_and_reading_resumes(head: int, lines: int, tail: int, second: bool) -> None:
    """Past the bound, or open to the end: rejected from its line, every later line read again (a
    second runaway cell among them too)."""
    second = second and lines + tail >= MAX_LINES  # nearer, its quote would close the first one's cell
    text = "h,1\n" * head + 'a,"open\n' + "x\n" * lines + "b,closed\n" * tail + ('c,"again\n' if second else "")
    got = _balanced(text)
    assert got[:head] == [(1 + k, ["h", "1"]) for k in range(head)]
    assert type(got[head][1]) is Unbalanced and got[head][0] == head + 1 and got[head][1] == ['a,"open']
    rest = [(head + 2 + k, ["x"]) for k in range(lines)] + [(head + 2 + lines + k, ["b", "closed"]) for k in range(tail)]
    assert got[head + 1:head + 1 + len(rest)] == rest
    if second:
        assert got[-1] == (head + 2 + lines + tail, ['c,"again']) and type(got[-1][1]) is Unbalanced


@given(st.sampled_from(["#N/A", "#REF!", "#VALUE!", "#DIV/0!", "#NAME?", "N/A", "n/a", "-", "--", "null", "NULL", "—"]))
def test_placeholders_are_not_ids(text: str) -> None:
    assert cells.id_problem(text) == "invalid_id"


@given(st.text(alphabet="0123456789ABCDEFGHJKMNPQRSTWXYZ", min_size=1, max_size=20))
def test_plain_card_numbers_are_ids(text: str) -> None:
    # A lone 0 is what a sheet leaves for "none", and NA, NAN or NULL are placeholders, not cards.
    assert cells.id_problem(text) is None or text.lower() in cells._PLACEHOLDERS


@given(st.sampled_from(["订单实付金额", "累计消费金额", "实付金额"]), st.sampled_from(["(元)", "（元）", "/元", "*", " (元) ", "（单位：元）"]))
def test_yuan_units_and_full_width_forms_do_not_matter_in_headers(word: str, unit: str) -> None:
    full_width = "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in unit)
    assert normalise(word + unit) == normalise(word) == normalise(word + full_width)
    assert normalise(word + "(分)") != normalise(word)
