"""Conditions: compiled SQL and the Python evaluator agree, and nothing from YAML reaches SQL text."""

from __future__ import annotations

import sqlite3
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from privdom.bounds import FIRST_DATE, LAST_DATE
from privdom.errors import PrivdomError
from privdom.playbook.conditions import (
    METRICS,
    check_condition,
    compile_condition,
    describe_condition,
    evaluate,
    format_path,
)

_TYPES = {"int": "INTEGER", "money": "INTEGER", "date": "TEXT", "text": "TEXT", "bool": "INTEGER"}
_TEXTS = ["regular", "silver", "gold", "mature", "重要价值"]


def _table() -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:")
    cols = ", ".join(f"{name} {_TYPES[kind]}" for name, kind in METRICS.items())
    conn.execute(f"CREATE TEMP TABLE member_metrics (id INTEGER PRIMARY KEY, {cols})")
    return conn


def _value(kind: str) -> st.SearchStrategy[Any]:
    if kind == "int":
        return st.integers(-5, 400)
    if kind == "money":
        return st.integers(0, 20000)  # fen in the row
    if kind == "date":
        return st.dates(FIRST_DATE, LAST_DATE).map(lambda d: d.isoformat())  # cells outside are NULL
    if kind == "bool":
        return st.sampled_from([0, 1])
    return st.sampled_from(_TEXTS)


def _yaml_value(kind: str) -> st.SearchStrategy[Any]:
    if kind == "int":
        return st.integers(-5, 400)
    if kind == "money":
        return st.integers(0, 200) | st.sampled_from([0.5, 12.34, 99.99])  # yuan in YAML
    if kind == "date":
        return st.dates(FIRST_DATE, LAST_DATE)  # the playbook's date range
    if kind == "bool":
        return st.booleans()
    return st.sampled_from(_TEXTS)


rows = st.fixed_dictionaries({name: st.none() | _value(kind) for name, kind in METRICS.items()})


@st.composite
def leaves(draw: st.DrawFn) -> dict[str, Any]:
    metric = draw(st.sampled_from(list(METRICS)))
    kind = METRICS[metric]
    ops = {"text": ["eq", "ne", "in", "not_in", "is_null"], "bool": ["eq", "ne", "is_null"]}.get(
        kind, ["eq", "ne", "gt", "gte", "lt", "lte", "in", "not_in", "is_null", "between"]
    )
    op = draw(st.sampled_from(ops))
    value: Any
    if op == "is_null":
        value = draw(st.booleans())
    elif op in ("in", "not_in"):
        value = draw(st.lists(_yaml_value(kind), min_size=1, max_size=3))
    elif op == "between":
        value = draw(st.lists(_yaml_value(kind), min_size=2, max_size=2))
    else:
        value = draw(_yaml_value(kind))
    if op == "eq" and draw(st.booleans()):
        return {metric: value}  # the shorthand form
    return {metric: {op: value}}


conditions = st.recursive(
    leaves(),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3).map(lambda cs: {"all": cs}),
        st.lists(inner, max_size=3).map(lambda cs: {"any": cs}),
        inner.map(lambda c: {"not": c}),
    ),
    max_leaves=6,
)


@settings(max_examples=150, deadline=None)
@given(cond=conditions, data=st.lists(rows, min_size=1, max_size=6))
def test_sql_and_python_agree(cond: dict[str, Any], data: list[dict[str, Any]]) -> None:
    assert check_condition(cond) == []
    conn = _table()
    names = list(METRICS)
    conn.executemany(
        f"INSERT INTO member_metrics (id, {', '.join(names)}) VALUES (?, {', '.join('?' for _ in names)})",
        [(i, *(row[n] for n in names)) for i, row in enumerate(data)],
    )
    sql, params = compile_condition(cond)
    got = {r[0] for r in conn.execute(f"SELECT id FROM member_metrics m WHERE {sql}", params)}
    expected = {i for i, row in enumerate(data) if evaluate(cond, row)}
    assert got == expected


def test_money_is_yuan_in_yaml_and_fen_in_sql() -> None:
    sql, params = compile_condition({"spend_365": {"gte": 299.5}})
    assert params == [29950]
    assert sql == "(m.spend_365 IS NOT NULL AND m.spend_365 >= ?)"
    assert evaluate({"spend_365": {"gte": 299.5}}, {"spend_365": 29950})
    assert not evaluate({"spend_365": {"gte": 299.5}}, {"spend_365": 29949})


def test_comparison_with_null_is_false_and_not_of_it_true() -> None:
    row = {"recency_days": None}
    assert not evaluate({"recency_days": {"gt": 60}}, row)
    assert not evaluate({"recency_days": {"lte": 60}}, row)
    assert evaluate({"not": {"recency_days": {"gt": 60}}}, row)
    assert evaluate({"recency_days": {"is_null": True}}, row)


@pytest.mark.parametrize(
    ("cond", "message"),
    [
        ({"recency_days; DROP TABLE members": {"gt": 1}},
         "recency_days; DROP TABLE members: unknown metric 'recency_days; DROP TABLE members'"
         "; expected a metric (" + ", ".join(METRICS) + ") or all/any/not"),
        ({"orders_total": {"gt) OR 1=1 --": 1}},
         "orders_total.gt) OR 1=1 --: unknown operator 'gt) OR 1=1 --'; "
         "expected one of eq, ne, gt, gte, lt, lte, in, not_in, is_null, between"),
        ({"orders_total": {"gt": "1 OR 1=1"}},
         "orders_total.gt: expected a number for orders_total, got '1 OR 1=1'"),
        ({"tier": {"gt": "gold"}},
         "tier.gt: operator 'gt' does not apply to tier; expected one of eq, ne, in, not_in, is_null"),
        ({"any": [{"koc": "yes"}]}, "any[0].koc: expected true or false for koc, got 'yes'"),
        ({"spend_total": {"gt": 1.005}},
         "spend_total.gt: 1.005 is not an amount in yuan (at most 2 decimals)"),
        ({"last_order_date": {"lt": "2026-13-01"}},
         "last_order_date.lt: '2026-13-01' is not a date (YYYY-MM-DD)"),
        ({"orders_total": {"between": [1]}}, "orders_total.between: expected [low, high], got [1]"),
        ({"orders_total": {"in": []}}, "orders_total.in: expected a non-empty list, got []"),
        ({"all": "x"}, "all: expected a list of conditions, got 'x'"),
    ],
)
def test_hostile_or_wrong_conditions_are_rejected(cond: dict[str, Any], message: str) -> None:
    issues = check_condition(cond)
    assert [f"{format_path(i.path)}: {i.message}" for i in issues] == [message]
    with pytest.raises(PrivdomError) as exc:
        compile_condition(cond)
    assert exc.value.message == message


def test_hostile_values_are_bound_never_pasted() -> None:
    evil = "gold'); DROP TABLE member_metrics; --"
    sql, params = compile_condition({"tier": {"in": [evil, "silver"]}, "rfm_class": evil})
    assert evil not in sql and params == [evil, "silver", evil]
    conn = _table()
    conn.execute("INSERT INTO member_metrics (id, tier, rfm_class) VALUES (1, ?, ?)", (evil, evil))
    assert conn.execute(f"SELECT id FROM member_metrics m WHERE {sql}", params).fetchall() == [(1,)]
    with pytest.raises(ValueError):
        compile_condition({"tier": "gold"}, alias="m; DROP")


def test_known_values_of_text_metrics() -> None:
    known = {"tier": {"regular", "silver", "gold"}}
    issues = check_condition({"tier": {"in": ["gold", "platinum"]}}, known=known)
    assert [(i.path, i.message) for i in issues] == [
        (("tier", "in", 1), "unknown tier 'platinum'; expected one of gold, regular, silver")
    ]


def test_conditions_in_words() -> None:
    cond = {"all": [{"orders_365": {"gte": 4}}, {"koc": True}], "not": {"tier": {"in": ["gold", "silver"]}},
            "spend_total": {"between": [100, 299.5]}, "last_order_date": {"is_null": False}}
    assert describe_condition(cond) == (
        "(orders_365 >= 4 and koc = true) and not (tier in [gold, silver]) "
        "and spend_total between 100 and 299.5 and last_order_date is known"
    )
    assert describe_condition(None) == "everyone"
