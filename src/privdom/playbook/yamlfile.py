"""YAML with line numbers: every key and list item remembers where it was written.

Errors in a playbook should read like a compiler's (`sops/retention.yaml:14 stages.retention[2]...`),
so parsing keeps the node tree's marks instead of throwing them away as `yaml.safe_load` does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from privdom.playbook.conditions import Path as KeyPath
from privdom.playbook.conditions import format_path

# A playbook is a few hundred lines. These bounds stop a hostile or broken file long before it costs
# real memory or time: a billion-laughs alias bomb is a few hundred bytes that expand to 10^9 values,
# and YAML nested thousands deep overflows the recursive composer.
MAX_BYTES = 2 * 1024 * 1024
MAX_DEPTH = 64
MAX_ALIASES = 1_000
MAX_VALUES = 200_000  # keys, items and scalars, counting every alias's expansion


class _Loader(yaml.SafeLoader):
    """SafeLoader without YAML 1.1's base-60 numbers, so `at: 12:00` is the text '12:00', not 720,
    and with the bounds above on nesting and aliases."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.depth = 0
        self.aliases = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
        if self.check_event(yaml.AliasEvent):
            self.aliases += 1
            if self.aliases > MAX_ALIASES:
                raise yaml.composer.ComposerError(None, None, f"more than {MAX_ALIASES} aliases (*name)", mark)
        if self.depth >= MAX_DEPTH:
            raise yaml.composer.ComposerError(None, None, f"nested more than {MAX_DEPTH} levels deep", mark)
        self.depth += 1
        try:
            node = super().compose_node(parent, index)
        finally:
            self.depth -= 1
        return node


_NUMBERS = ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float")
_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag not in _NUMBERS]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:int",
    re.compile(r"^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+)$"),
    list("-+0123456789"),
)
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9_]+(?:[eE][-+][0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
    ),
    list("-+0123456789."),
)


# libyaml composes the node tree about four times faster than the pure-Python composer (its marks
# carry the same lines). It is used when present and the tree is well inside the bounds; any error,
# or a tree near them, is read again by `_Loader`, whose messages are the ones documented.
_FAST: type | None = None
if getattr(yaml, "__with_libyaml__", False):

    class _FastLoader(yaml.CSafeLoader):  # type: ignore[misc, name-defined]
        yaml_implicit_resolvers = _Loader.yaml_implicit_resolvers

    _FAST = _FastLoader


def _well_inside_bounds(root: yaml.Node) -> bool:
    """Whether the tree nests less deep than MAX_DEPTH and uses fewer aliases than MAX_ALIASES,
    each with a margin: a node met again is an alias (not followed)."""
    seen: set[int] = set()
    aliases = 0
    stack: list[tuple[yaml.Node, int]] = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        if id(node) in seen:
            aliases += 1
            if aliases >= MAX_ALIASES - 1:
                return False
            continue
        seen.add(id(node))
        if depth >= MAX_DEPTH - 2:
            return False
        if isinstance(node, yaml.MappingNode):
            stack.extend((part, depth + 1) for pair in node.value for part in pair)
        elif isinstance(node, yaml.SequenceNode):
            stack.extend((item, depth + 1) for item in node.value)
    return True


def _compose(text: str) -> tuple[Any, yaml.Node | None]:
    """A loader and the document's node tree: libyaml's when it reads the text well inside the
    bounds, else the pure-Python composer's (which raises the errors)."""
    if _FAST is not None:
        fast = _FAST(text)
        try:
            node = fast.get_single_node()
        except yaml.YAMLError:
            node = None
            fast.dispose()
        else:
            if node is None or _well_inside_bounds(node):
                return fast, node
            fast.dispose()
    loader = _Loader(text)
    try:
        return loader, loader.get_single_node()
    except BaseException:
        loader.dispose()
        raise


@dataclass(frozen=True)
class Issue:
    """One problem in a playbook, located as precisely as the source allows."""

    file: str
    line: int | None
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where} {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class YamlProblem(Exception):
    def __init__(self, issue: Issue) -> None:
        super().__init__(str(issue))
        self.issue = issue


def read_yaml(path: Path, shown: str) -> tuple[Any, dict[KeyPath, int]]:
    """The data in `path` and the line of every key path in it. Raises YamlProblem (named `shown`)."""
    with path.open("rb") as stream:
        raw = stream.read(MAX_BYTES + 1)
    if len(raw) > MAX_BYTES:
        raise YamlProblem(Issue(shown, None, "", f"is larger than {MAX_BYTES // (1024 * 1024)} MB; "
                                                 "a playbook is a few hundred lines"))
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise YamlProblem(Issue(shown, None, "", f"is not UTF-8 text ({exc.reason})")) from None
    lines: dict[KeyPath, int] = {(): 1}
    loader: Any = None
    try:
        loader, node = _compose(text)
        budget = [MAX_VALUES]
        data = _build(loader, node, (), lines, shown, budget) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        problem = exc.problem or exc.context or "invalid YAML"
        excerpt = _excerpt(text, mark.line, mark.column) if mark else ""
        raise YamlProblem(Issue(shown, line, "", f"invalid YAML: {problem}{excerpt}")) from None
    except yaml.YAMLError as exc:
        raise YamlProblem(Issue(shown, None, "", f"invalid YAML: {exc}")) from None
    finally:
        if loader is not None:
            loader.dispose()
    return data, lines


def _build(loader: _Loader, node: yaml.Node, path: KeyPath, lines: dict[KeyPath, int], shown: str,
           budget: list[int]) -> Any:
    # An alias is the same node again, so a few aliases of aliases expand exponentially: the budget
    # counts every value built, expansions included.
    budget[0] -= 1
    if budget[0] < 0:
        raise YamlProblem(Issue(shown, node.start_mark.line + 1, format_path(path),
                                f"the document expands to more than {MAX_VALUES} values (through aliases?)"))
    if isinstance(node, yaml.MappingNode):
        loader.flatten_mapping(node)  # YAML merge keys (<<: *anchor)
        out: dict[Any, Any] = {}
        first_line: dict[Any, int] = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            try:
                hash(key)
            except TypeError:
                raise YamlProblem(Issue(shown, line, format_path(path), "a key must be plain text")) from None
            if key in out:
                raise YamlProblem(Issue(shown, line, format_path((*path, key)),
                                        f"duplicate key {key!r} (first written at line {first_line[key]})"))
            first_line[key] = line
            lines[(*path, key)] = line
            out[key] = _build(loader, value_node, (*path, key), lines, shown, budget)
        return out
    if isinstance(node, yaml.SequenceNode):
        items = []
        for i, item in enumerate(node.value):
            lines[(*path, i)] = item.start_mark.line + 1
            items.append(_build(loader, item, (*path, i), lines, shown, budget))
        return items
    return loader.construct_object(node, deep=True)


_EXCERPT_WIDTH = 160  # a line of 5,000 brackets is shown by its start


def _excerpt(text: str, line: int, column: int) -> str:
    """The numbered lines around a syntax error, with a caret under the fault."""
    source = text.splitlines()
    out = [""]
    for n in range(max(0, line - 2), min(len(source), line + 2)):
        out.append(f"  {n + 1:>4} | {source[n][:_EXCERPT_WIDTH]}")
        if n == line:
            out.append(f"  {'':>4} | {' ' * min(column, _EXCERPT_WIDTH)}^")
    if line >= len(source):
        out.append(f"  {line + 1:>4} | ")
        out.append(f"  {'':>4} | {' ' * column}^")
    return "\n".join(out)
