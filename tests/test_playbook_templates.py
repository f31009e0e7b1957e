"""Templates: sandboxed, strict about undefined names, and limited to what the rule provides."""

from __future__ import annotations

import pytest

from privdom.errors import PrivdomError
from privdom.playbook.models import Rule
from privdom.playbook.templates import SAMPLE_CONTEXT, check_template, context_names, render


def _rule(**overrides: object) -> Rule:
    data: dict[str, object] = {
        "id": "r", "title": {"zh": "规则", "en": "Rule"}, "when": {"trigger": "daily", "at": "09:30"},
        "action": "group_post", "content_type": "value", "template": "x",
    }
    data.update(overrides)
    return Rule.model_validate(data)


def test_render_fills_fields() -> None:
    template = "{{ member.name }}，{{ coupon.label }}满{{ coupon.threshold_yuan }}减{{ coupon.value_yuan }}"
    text = render(template, SAMPLE_CONTEXT)
    assert text == "王小雨，复购券满30减5"


def test_undefined_name_is_an_error() -> None:
    assert check_template("{{ member.nme }}") == "'dict object' has no attribute 'nme'"
    assert check_template("{{ coupon.label }}", frozenset({"brand", "date"})) == "'coupon' is undefined"
    with pytest.raises(PrivdomError) as exc:
        render("{{ oops }}", SAMPLE_CONTEXT)
    assert exc.value.message == "template: 'oops' is undefined"


def test_sandbox_blocks_code() -> None:
    problem = check_template("{{ member.__class__.__mro__ }}")
    assert problem is not None and "unsafe" in problem
    assert check_template("{{ ''.__class__.__subclasses__() }}") is not None


def test_syntax_error_is_reported() -> None:
    expected = "unexpected end of template, expected 'end of print statement'."
    assert check_template("{{ member.name ") == expected


def test_context_names_follow_the_rule() -> None:
    assert context_names(_rule()) == {"brand", "date", "group"}
    assert context_names(_rule(when={"trigger": "first_order", "offset": 3}, action="private_message",
                               coupon="repurchase")) == {"brand", "date", "member", "tier", "coupon"}
    assert context_names(_rule(when={"trigger": "node", "node": "double11"}, action="moment_post")) == {
        "brand", "date", "node"}
    names = context_names(_rule(when={"trigger": "joined_group"}))
    assert names == {"brand", "date", "member", "tier", "group"}


def test_context_helpers_match_the_sample() -> None:
    from datetime import date

    from privdom.playbook.models import Coupon
    from privdom.playbook.templates import coupon_context

    coupon = Coupon(label="复购券", value_yuan=5, threshold_yuan=30, valid_days=3)
    got = coupon_context(coupon, date(2026, 11, 23))
    assert got == SAMPLE_CONTEXT["coupon"]
    assert set(got) == set(SAMPLE_CONTEXT["coupon"])
    half = Coupon(label="x", value_yuan=12.5, valid_days=1)
    assert coupon_context(half, date(2026, 1, 1))["value_yuan"] == "12.5"
    assert coupon_context(half, date(2026, 1, 1))["expires_on"] == "2026-01-01"
