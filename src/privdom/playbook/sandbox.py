"""The Jinja2 sandbox that message templates run in, with bounds on what one message may cost.

Jinja's own sandbox stops a template from reaching Python, but not from spending the machine:
`{{ 'x' * 300000000 }}` is a 300 MB message, three nested `range(100000)` loops never end. A
template is the playbook's text, so every bound here is the playbook's fault: it raises
`TemplateLimit` (a TemplateError), which `sop validate` reports and a plan turns into a blocked task.

What is bounded:
* `range()`: at most MAX_RANGE numbers;
* loop iterations: MAX_ITERATIONS per message, over every loop of the template together (each `for`
  is rewritten, when the template is parsed, to iterate through a counting filter);
* text and lists built on the way (`*`, `+`, `%`, `~`, `.format`, width arguments): MAX_TEXT;
* `**`: small exponents only;
* the message itself: MAX_MESSAGE characters.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from contextvars import ContextVar
from typing import Any

from jinja2 import Template, TemplateRuntimeError, nodes
from jinja2.exceptions import SecurityError
from jinja2.sandbox import SandboxedEnvironment
from jinja2.visitor import NodeTransformer

MAX_MESSAGE = 2_000
MAX_TEXT = 10_000
MAX_RANGE = 1_000
MAX_ITERATIONS = 10_000
MAX_EXPONENT = 64

_LOOP_FILTER = "privdom_counted_loop"
_TEXT_FILTER = "privdom_bounded_text"
# A width or precision of 5 digits or more in a %-format or a format spec: `%99999999d`, `{:>99999}`.
_WIDE = re.compile(r"%[-#0 +]*(\d{5,}|\*)|%[-#0 +]*\d*\.\d{5,}|\{[^{}]*:[^{}]*\d{5,}[^{}]*\}")

_iterations_left: ContextVar[list[int]] = ContextVar("privdom_template_iterations")


class TemplateLimit(SecurityError):
    """A template went past one of the bounds above."""


class BoundedTemplate(Template):
    """A template whose `render` stays within the bounds, and raises only TemplateErrors."""

    # A short template without statements (no loop, no macro: most messages) is rendered as Jinja
    # does and measured afterwards; its few outputs are each bounded, so the whole is small. The
    # others go piece by piece and stop at the bound: 4 us a message more, in a plan of thousands.
    simple = False

    def render(self, *args: Any, **kwargs: Any) -> str:
        try:
            text = super().render(*args, **kwargs) if self.simple else self._pieces(*args, **kwargs)
        except (ArithmeticError, LookupError, TypeError, ValueError, RecursionError) as exc:
            # `{{ x / 0 }}`, `{{ 'a'|int(base=99) }}`, a macro calling itself: what the template's
            # own expressions raise is the template's fault, like any TemplateError.
            raise TemplateRuntimeError(f"{type(exc).__name__}: {exc}") from None
        if len(text) > MAX_MESSAGE:
            raise TemplateLimit(f"the message is longer than {MAX_MESSAGE} characters")
        return text

    def _pieces(self, *args: Any, **kwargs: Any) -> str:
        token = _iterations_left.set([MAX_ITERATIONS])
        try:
            parts: list[str] = []
            size = 0
            for part in self.generate(*args, **kwargs):
                size += len(part)
                if size > MAX_MESSAGE:
                    raise TemplateLimit(f"the message is longer than {MAX_MESSAGE} characters")
                parts.append(part)
            return "".join(parts)
        finally:
            _iterations_left.reset(token)


class BoundedSandbox(SandboxedEnvironment):
    intercepted_binops = frozenset({"*", "**", "+", "%"})
    template_class = BoundedTemplate

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.globals["range"] = _range
        del self.globals["lipsum"]  # placeholder text, for page mock-ups; lipsum(10**9) never ends
        self.filters[_LOOP_FILTER] = _counted
        self.filters[_TEXT_FILTER] = _bounded
        for name in ("center", "indent", "truncate", "wordwrap", "batch", "slice"):
            self.filters[name] = _width_checked(self.filters[name])
        self.filters["format"] = _format_checked(self.filters["format"])

    def from_string(self, source: str | nodes.Template, globals: Any = None, template_class: Any = None) -> Template:
        template = super().from_string(source, globals, template_class)
        if isinstance(template, BoundedTemplate) and isinstance(source, str):
            template.simple = len(source) <= MAX_MESSAGE and "{%" not in source
        return template

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        # The one place every template passes through between its text and its code, for `parse`
        # and `from_string` alike.
        tree = super()._parse(source, name, filename)
        bounded = _Bound().visit(tree)
        assert isinstance(bounded, nodes.Template)
        return bounded

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "*":
            for seq, times in ((left, right), (right, left)):
                if isinstance(seq, str | list | tuple) and isinstance(times, int) and len(seq) * times > MAX_TEXT:
                    raise TemplateLimit(f"repeating text or a list gives more than {MAX_TEXT} items")
        elif operator == "**":
            if isinstance(right, int | float) and abs(right) > MAX_EXPONENT:
                raise TemplateLimit(f"an exponent above {MAX_EXPONENT}")
        elif operator == "%" and isinstance(left, str) and _WIDE.search(left):
            raise TemplateLimit(f"a format width above {MAX_TEXT}")
        return _bounded(super().call_binop(context, operator, left, right))

    def wrap_str_format(self, value: Any) -> Any:
        call = super().wrap_str_format(value)
        if call is None:
            return None
        text = getattr(value, "__self__", "")

        def checked(*args: Any, **kwargs: Any) -> Any:
            if isinstance(text, str) and _WIDE.search(text):
                raise TemplateLimit(f"a format width above {MAX_TEXT}")
            return _bounded(call(*args, **kwargs))

        return checked


class _Bound(NodeTransformer):
    """Every `for` iterates through the counting filter; every `~` passes the text bound."""

    def visit_For(self, node: nodes.For) -> nodes.Node:
        self.generic_visit(node)
        node.iter = nodes.Filter(node.iter, _LOOP_FILTER, [], [], None, None, lineno=node.lineno)
        return node

    def visit_Concat(self, node: nodes.Concat) -> nodes.Node:
        self.generic_visit(node)
        return nodes.Filter(node, _TEXT_FILTER, [], [], None, None, lineno=node.lineno)


def _range(*args: int) -> range:
    numbers = range(*args)
    if len(numbers) > MAX_RANGE:
        raise TemplateLimit(f"range() of more than {MAX_RANGE} numbers")
    return numbers


def _counted(items: Iterable[Any]) -> Iterator[Any]:
    left = _iterations_left.get(None)
    for item in items:
        if left is not None:
            left[0] -= 1
            if left[0] < 0:
                raise TemplateLimit(f"loops ran more than {MAX_ITERATIONS} times in one message")
        yield item


def _bounded(value: Any) -> Any:
    if isinstance(value, str | list | tuple) and len(value) > MAX_TEXT:
        raise TemplateLimit(f"text or a list of more than {MAX_TEXT} items")
    return value


def _width_checked(original: Any) -> Any:
    """A filter whose numeric arguments (widths, lengths, counts) are bounded."""

    def checked(*args: Any, **kwargs: Any) -> Any:
        for arg in (*args[1:], *kwargs.values()):
            if isinstance(arg, int) and not isinstance(arg, bool) and abs(arg) > MAX_TEXT:
                raise TemplateLimit(f"a width or count above {MAX_TEXT}")
        return _bounded(original(*args, **kwargs))

    # Jinja passes the environment or context to filters marked for it: keep the mark.
    for mark in ("jinja_pass_arg",):
        if hasattr(original, mark):
            setattr(checked, mark, getattr(original, mark))
    return checked


def _format_checked(original: Any) -> Any:
    def checked(value: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(value, str) and _WIDE.search(value):
            raise TemplateLimit(f"a format width above {MAX_TEXT}")
        return _bounded(original(value, *args, **kwargs))

    return checked
