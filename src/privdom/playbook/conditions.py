"""Conditions over member metrics: checked, compiled to parameterised SQL, or evaluated in Python.

A condition is YAML like `{recency_days: {gt: 60}}`, `{all: [{koc: true}, {tier: {in: [gold]}}]}`.
Several keys in one mapping (and several operators on one metric) must all hold.

Safety: column names come only from `METRICS`, operators only from `OPERATORS`; every value from
YAML is a bound parameter. Nothing an operator writes is pasted into SQL text.

NULL: a comparison with a missing metric (a member with no orders has no `recency_days`) is false,
in SQL and in Python alike, so `not` of it is true. Only `is_null` looks at missing values.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from privdom.bounds import DATE_RANGE, MAX_COUNT, MAX_FEN, date_in_range
from privdom.errors import PrivdomError

Kind = Literal["int", "money", "date", "text", "bool"]

# The columns of the TEMP table `member_metrics` a condition may read. Money is fen in the table and
# yuan in YAML; dates are `YYYY-MM-DD` text.
METRICS: dict[str, Kind] = {
    "orders_total": "int",
    "purchase_days": "int",
    "spend_total": "money",
    "first_order_date": "date",
    "last_order_date": "date",
    "recency_days": "int",
    "tenure_days": "int",
    "orders_365": "int",
    "spend_365": "money",
    "growth": "int",
    "points": "int",
    "messages_30": "int",
    "images_30": "int",
    "tier": "text",
    "lifecycle": "text",
    "rfm_r": "int",
    "rfm_f": "int",
    "rfm_m": "int",
    "rfm_class": "text",
    "koc": "bool",
}
MONEY_METRICS = frozenset(name for name, kind in METRICS.items() if kind == "money")

OPERATORS = ("eq", "ne", "gt", "gte", "lt", "lte", "in", "not_in", "is_null", "between")
COMBINATORS = ("all", "any", "not")
_ALLOWED_OPS: dict[Kind, tuple[str, ...]] = {
    "int": OPERATORS,
    "money": OPERATORS,
    "date": OPERATORS,
    "text": ("eq", "ne", "in", "not_in", "is_null"),
    "bool": ("eq", "ne", "is_null"),
}
_SQL_OPS = {"eq": "=", "ne": "<>", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

Path = tuple[str | int, ...]


@dataclass(frozen=True)
class ConditionIssue:
    """One problem in a condition; `path` is relative to the condition (keys and list indexes)."""

    path: Path
    message: str


def format_path(path: Path) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _suggest(word: str, choices: tuple[str, ...] | list[str]) -> str:
    close = difflib.get_close_matches(word, choices, n=1)
    return f" (did you mean {close[0]}?)" if close else ""


# ---------------------------------------------------------------- checking


def check_condition(cond: Any, known: Mapping[str, set[str]] | None = None) -> list[ConditionIssue]:
    """Every problem in `cond`. `known` optionally lists valid values of text metrics (tier ids, ...)."""
    issues: list[ConditionIssue] = []
    _check(cond, (), issues, known or {})
    return issues


def _check(cond: Any, path: Path, issues: list[ConditionIssue], known: Mapping[str, set[str]]) -> None:
    if not isinstance(cond, Mapping):
        example = "{recency_days: {gt: 60}}"
        issues.append(ConditionIssue(path, f"expected a condition such as {example}, got {cond!r}"))
        return
    for key, value in cond.items():
        here = (*path, key)
        if key in ("all", "any"):
            if not isinstance(value, list):
                issues.append(ConditionIssue(here, f"expected a list of conditions, got {value!r}"))
                continue
            for i, item in enumerate(value):
                _check(item, (*here, i), issues, known)
        elif key == "not":
            _check(value, here, issues, known)
        elif key in METRICS:
            _check_metric(str(key), value, here, issues, known)
        else:
            issues.append(ConditionIssue(
                here,
                f"unknown metric {key!r}{_suggest(str(key), list(METRICS) + list(COMBINATORS))}; "
                f"expected a metric ({', '.join(METRICS)}) or all/any/not",
            ))


def _check_metric(metric: str, spec: Any, path: Path, issues: list[ConditionIssue],
                  known: Mapping[str, set[str]]) -> None:
    kind = METRICS[metric]
    if not isinstance(spec, Mapping):
        spec = {"eq": spec}  # `{tier: gold}` is short for `{tier: {eq: gold}}`
        op_paths: dict[str, Path] = {"eq": path}
    else:
        op_paths = {str(op): (*path, op) for op in spec}
        if not spec:
            issues.append(ConditionIssue(path, f"expected an operator ({', '.join(_ALLOWED_OPS[kind])})"))
    for op, value in spec.items():
        here = op_paths[str(op)]
        if op not in OPERATORS:
            issues.append(ConditionIssue(here, f"unknown operator {op!r}{_suggest(str(op), OPERATORS)}; "
                                               f"expected one of {', '.join(OPERATORS)}"))
            continue
        if op not in _ALLOWED_OPS[kind]:
            issues.append(ConditionIssue(here, f"operator {op!r} does not apply to {metric}; "
                                               f"expected one of {', '.join(_ALLOWED_OPS[kind])}"))
            continue
        if op == "is_null":
            if not isinstance(value, bool):
                issues.append(ConditionIssue(here, f"expected true or false, got {value!r}"))
            continue
        if op in ("in", "not_in", "between"):
            if not isinstance(value, list) or not value:
                issues.append(ConditionIssue(here, f"expected a non-empty list, got {value!r}"))
                continue
            if op == "between" and len(value) != 2:
                issues.append(ConditionIssue(here, f"expected [low, high], got {value!r}"))
                continue
            for i, item in enumerate(value):
                _check_value(metric, item, (*here, i), issues, known)
        else:
            _check_value(metric, value, here, issues, known)


def _check_value(metric: str, value: Any, path: Path, issues: list[ConditionIssue],
                 known: Mapping[str, set[str]]) -> None:
    try:
        _to_param(metric, value)
    except ValueError as exc:
        issues.append(ConditionIssue(path, str(exc)))
        return
    allowed = known.get(metric)
    if allowed is not None and value not in allowed:
        choices = sorted(allowed)
        issues.append(ConditionIssue(path, f"unknown {metric} {value!r}{_suggest(str(value), choices)}; "
                                           f"expected one of {', '.join(choices)}"))


def _to_param(metric: str, value: Any) -> Any:
    """The SQL parameter for a YAML value of `metric`; ValueError says what was expected."""
    kind = METRICS[metric]
    if kind in ("int", "money"):
        if isinstance(value, bool) or not isinstance(value, int | float):
            unit = " in yuan" if kind == "money" else ""
            raise ValueError(f"expected a number{unit} for {metric}, got {value!r}")
        if kind == "money":
            return yuan_to_fen(value)
        if not -MAX_COUNT <= value <= MAX_COUNT:  # also false for nan; inf is out of range
            raise ValueError(f"expected a number between {-MAX_COUNT} and {MAX_COUNT} for {metric}, got {value!r}")
        return value
    if kind == "date":
        if isinstance(value, date):
            if not date_in_range(value):
                raise ValueError(f"{value.isoformat()!r} is outside {DATE_RANGE}")
            return value.isoformat()
        if isinstance(value, str):
            try:
                day = date.fromisoformat(value) if len(value) == 10 else _bad_date(value)
            except ValueError:
                _bad_date(value)
            if not date_in_range(day):
                raise ValueError(f"{value!r} is outside {DATE_RANGE}")
            return day.isoformat()
        return _bad_date(value)
    if kind == "bool":
        if not isinstance(value, bool):
            raise ValueError(f"expected true or false for {metric}, got {value!r}")
        return int(value)
    if not isinstance(value, str):
        raise ValueError(f"expected text for {metric}, got {value!r}")
    return value


def _bad_date(value: Any) -> Any:
    raise ValueError(f"{value!r} is not a date (YYYY-MM-DD)")


def yuan_to_fen(value: float | int) -> int:
    """Yuan as written in YAML -> integer fen; more than two decimals is a mistake, not a rounding."""
    try:
        fen = Decimal(str(value)) * 100
    except InvalidOperation:
        raise ValueError(f"{value!r} is not an amount in yuan") from None
    if not fen.is_finite() or abs(fen) > MAX_FEN:
        raise ValueError(f"{value!r} is not an amount in yuan (it does not fit in 64-bit fen)")
    if fen != fen.to_integral_value():
        raise ValueError(f"{value!r} is not an amount in yuan (at most 2 decimals)")
    return int(fen)


def _raise_first(cond: Any) -> None:
    issues = check_condition(cond)
    if issues:
        first = issues[0]
        where = format_path(first.path)
        raise PrivdomError(f"{where + ': ' if where else ''}{first.message}",
                           hint="see `privdom sop validate` for every problem in the playbook")


# ---------------------------------------------------------------- SQL


def compile_condition(cond: Mapping[str, Any] | None, alias: str = "m") -> tuple[str, list[Any]]:
    """`cond` as a SQL boolean expression over `alias.<metric>` columns, and its parameters.

    The expression is always 0 or 1, never NULL (see the module docstring).
    """
    if not _IDENT.match(alias):
        raise ValueError(f"bad table alias {alias!r}")
    if cond is None:
        return "1", []
    _raise_first(cond)
    params: list[Any] = []
    return _sql(cond, alias, params), params


def _sql(cond: Mapping[str, Any], alias: str, params: list[Any]) -> str:
    parts: list[str] = []
    for key, value in cond.items():
        if key == "all":
            parts.append("(" + " AND ".join(_sql(c, alias, params) for c in value) + ")" if value else "1")
        elif key == "any":
            parts.append("(" + " OR ".join(_sql(c, alias, params) for c in value) + ")" if value else "0")
        elif key == "not":
            parts.append(f"(NOT {_sql(value, alias, params)})")
        else:
            spec = value if isinstance(value, Mapping) else {"eq": value}
            for op, operand in spec.items():
                parts.append(_leaf_sql(key, op, operand, alias, params))
    if not parts:
        return "1"
    return parts[0] if len(parts) == 1 else "(" + " AND ".join(parts) + ")"


def _leaf_sql(metric: str, op: str, operand: Any, alias: str, params: list[Any]) -> str:
    col = f"{alias}.{metric}"  # metric is a key of METRICS, checked above
    if op == "is_null":
        return f"({col} IS NULL)" if operand else f"({col} IS NOT NULL)"
    if op in ("in", "not_in"):
        params.extend(_to_param(metric, v) for v in operand)
        marks = ", ".join("?" for _ in operand)
        sql_op = "IN" if op == "in" else "NOT IN"
        return f"({col} IS NOT NULL AND {col} {sql_op} ({marks}))"
    if op == "between":
        params.extend(_to_param(metric, v) for v in operand)
        return f"({col} IS NOT NULL AND {col} BETWEEN ? AND ?)"
    params.append(_to_param(metric, operand))
    return f"({col} IS NOT NULL AND {col} {_SQL_OPS[op]} ?)"


# ---------------------------------------------------------------- Python


def evaluate(cond: Mapping[str, Any] | None, row: Mapping[str, Any]) -> bool:
    """The same condition in Python, over one row of metrics (money in fen, dates as text or date)."""
    if cond is None:
        return True
    _raise_first(cond)
    return _eval(cond, row)


def _eval(cond: Mapping[str, Any], row: Mapping[str, Any]) -> bool:
    for key, value in cond.items():
        if key == "all":
            ok = all(_eval(c, row) for c in value)
        elif key == "any":
            ok = any(_eval(c, row) for c in value)
        elif key == "not":
            ok = not _eval(value, row)
        else:
            spec = value if isinstance(value, Mapping) else {"eq": value}
            ok = all(_leaf_eval(key, op, operand, row.get(key)) for op, operand in spec.items())
        if not ok:
            return False
    return True


def _leaf_eval(metric: str, op: str, operand: Any, actual: Any) -> bool:
    if isinstance(actual, date):
        actual = actual.isoformat()
    elif isinstance(actual, bool):
        actual = int(actual)
    if op == "is_null":
        return (actual is None) == bool(operand)
    if actual is None:
        return False
    if op == "in":
        return actual in [_to_param(metric, v) for v in operand]
    if op == "not_in":
        return actual not in [_to_param(metric, v) for v in operand]
    if op == "between":
        low, high = (_to_param(metric, v) for v in operand)
        return bool(low <= actual <= high)
    param = _to_param(metric, operand)
    result: bool = {
        "eq": actual == param,
        "ne": actual != param,
        "gt": actual > param,
        "gte": actual >= param,
        "lt": actual < param,
        "lte": actual <= param,
    }[op]
    return result


# ---------------------------------------------------------------- words

_WORDS = {"eq": "=", "ne": "!=", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}


def describe_condition(cond: Mapping[str, Any] | None) -> str:
    """A condition as an operator reads it, e.g. `orders_365 >= 4 and koc = true` (money in yuan)."""
    if cond is None:
        return "everyone"
    return _words(cond) or "everyone"


def _words(cond: Mapping[str, Any]) -> str:
    parts: list[str] = []
    for key, value in cond.items():
        if key in ("all", "any"):
            inner = [_words(c) for c in value]
            joined = f" {'and' if key == 'all' else 'or'} ".join(inner)
            parts.append(f"({joined})" if len(inner) > 1 else joined)
        elif key == "not":
            parts.append(f"not ({_words(value)})")
        else:
            spec = value if isinstance(value, Mapping) else {"eq": value}
            parts.extend(_leaf_words(str(key), str(op), operand) for op, operand in spec.items())
    return " and ".join(p for p in parts if p)


def _leaf_words(metric: str, op: str, operand: Any) -> str:
    def show(v: Any) -> str:
        return str(v).lower() if isinstance(v, bool) else str(v)

    if op == "is_null":
        return f"{metric} is {'unknown' if operand else 'known'}"
    if op in ("in", "not_in"):
        return f"{metric} {'in' if op == 'in' else 'not in'} [{', '.join(show(v) for v in operand)}]"
    if op == "between":
        return f"{metric} between {show(operand[0])} and {show(operand[1])}"
    return f"{metric} {_WORDS.get(op, op)} {show(operand)}"
