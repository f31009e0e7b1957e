"""pydantic's validation errors, said the way an operator editing YAML needs to hear them."""

from __future__ import annotations

import difflib
import types
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from privdom.playbook.conditions import Path as KeyPath
from privdom.playbook.models import Playbook

_TYPE_WORDS = {
    "int_type": "an integer", "int_parsing": "an integer", "int_from_float": "an integer",
    "float_type": "a number", "float_parsing": "a number",
    "bool_type": "true or false", "bool_parsing": "true or false",
    "string_type": "text", "list_type": "a list", "dict_type": "a mapping",
    "model_type": "a mapping", "model_attributes_type": "a mapping",
    "date_type": "a date (YYYY-MM-DD)", "date_parsing": "a date (YYYY-MM-DD)",
    "date_from_datetime_parsing": "a date (YYYY-MM-DD)", "date_from_datetime_inexact": "a date (YYYY-MM-DD)",
}
_BOUNDS = {"greater_than": ">", "greater_than_equal": ">=", "less_than": "<", "less_than_equal": "<="}


def describe(exc: ValidationError, data: Any) -> list[tuple[KeyPath, str]]:
    """(key path in `data`, message) for each error, in the order pydantic found them."""
    out: list[tuple[KeyPath, str]] = []
    for error in exc.errors():
        path, model_loc = _data_path(data, error["loc"])
        out.append(_message(error, path, model_loc))
    return out


def _data_path(data: Any, loc: tuple[int | str, ...]) -> tuple[KeyPath, KeyPath]:
    """pydantic's loc -> the key path in the data (dropping union tags), and the loc for the schema."""
    path: list[str | int] = []
    cur = data
    for part in loc:
        if isinstance(cur, dict) and part not in cur and cur.get("trigger") == part:
            continue  # the tag pydantic adds inside a discriminated union
        path.append(part)
        if isinstance(cur, dict):
            cur = cur.get(part)
        elif isinstance(cur, list) and isinstance(part, int) and 0 <= part < len(cur):
            cur = cur[part]
        else:
            cur = None
    return tuple(path), tuple(loc)


def _message(error: ErrorDetails, path: KeyPath, loc: KeyPath) -> tuple[KeyPath, str]:
    kind = error["type"]
    given = error.get("input")
    ctx = error.get("ctx") or {}
    if kind == "missing":
        return path[:-1], f"missing required key {path[-1]!r}"
    if kind == "extra_forbidden":
        fields = _fields_at(loc[:-1])
        key = str(path[-1])
        close = difflib.get_close_matches(key, fields, n=1)
        did_you_mean = f" (did you mean {close[0]}?)" if close else ""
        expected = f"; expected one of {', '.join(fields)}" if fields else ""
        return path, f"unknown key {key!r}{did_you_mean}{expected}"
    if kind == "union_tag_invalid":
        tags = str(ctx.get("expected_tags", "")).replace("'", "")
        return (*path, "trigger"), f"unknown trigger {ctx.get('tag')!r}; expected one of {tags}"
    if kind == "union_tag_not_found":
        return path, "missing required key 'trigger'"
    if kind == "literal_error":
        expected = str(ctx.get("expected", "")).replace("'", "")
        return path, f"{given!r} is not allowed here; expected one of {expected.replace(' or ', ', ')}"
    if kind == "value_error":
        return path, str(ctx.get("error", error["msg"]))
    if kind in _BOUNDS:
        bound = next(iter(ctx.values()), "")
        return path, f"expected a number {_BOUNDS[kind]} {bound}, got {given!r}"
    if kind in _TYPE_WORDS:
        return path, f"expected {_TYPE_WORDS[kind]}, got {given!r}"
    return path, str(error["msg"])


def _fields_at(loc: KeyPath) -> list[str]:
    """The keys the schema allows at `loc` (for 'did you mean' and 'expected one of')."""
    tp: Any = Playbook
    for part in loc:
        before = tp
        tp = _unwrap(tp, part)
        if _is_union(before) and tp is not before and isinstance(part, str) and _is_model(tp):
            continue  # `part` was the union's tag, not a key
        if _is_model(tp):
            field = next((f for name, f in tp.model_fields.items() if part in (name, f.alias)), None)
            if field is None:
                return []
            tp = field.annotation
        elif get_origin(tp) is list:
            tp = get_args(tp)[0]
        elif get_origin(tp) is dict:
            tp = get_args(tp)[1]
        else:
            return []
    tp = _unwrap(tp, None)
    if _is_model(tp):
        return [f.alias or name for name, f in tp.model_fields.items()]
    return []


def _unwrap(tp: Any, tag: str | int | None) -> Any:
    """Strip Annotated and Optional; pick the member of a tagged union whose `trigger` is `tag`."""
    while True:
        origin = get_origin(tp)
        if origin is Annotated:
            tp = get_args(tp)[0]
        elif origin in (Union, types.UnionType):
            members = [a for a in get_args(tp) if a is not type(None)]
            if len(members) == 1:
                tp = members[0]
                continue
            for member in members:
                field = getattr(member, "model_fields", {}).get("trigger")
                if field is not None and tag in get_args(field.annotation):
                    return member
            return tp
        else:
            return tp


def _is_model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, BaseModel)


def _is_union(tp: Any) -> bool:
    if get_origin(tp) is Annotated:
        tp = get_args(tp)[0]
    return get_origin(tp) in (Union, types.UnionType) and len(get_args(tp)) > 2
