"""`render.dumps` writes exactly what `json.dumps(..., ensure_ascii=False, indent=2)` writes."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from privdom.render import _default, dumps

_scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text()
_json = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=25,
)


@given(_json)
def test_dumps_is_the_standard_library_text(data: Any) -> None:
    assert dumps(data) == json.dumps(data, ensure_ascii=False, indent=2)


def test_dumps_defaults_and_odd_keys() -> None:
    data = {"d": date(2026, 1, 2), "t": datetime(2026, 1, 2, 3, 4), "m": Decimal("1.20"), "k": {1: 2, None: 3},
            "tuple": (1, (2, [])), "empty": [{}]}  # fmt: skip
    assert dumps(data) == json.dumps(data, ensure_ascii=False, indent=2, default=_default)
