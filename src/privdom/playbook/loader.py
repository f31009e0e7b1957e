"""Read `sops/*.yaml` into one validated Playbook, with errors that name file, line and key path.

One playbook may be split over several files (e.g. playbook.yaml + retention.yaml). They merge by
key: mappings merge, the rule lists of `stages.*` and `calendar.nodes` are concatenated (files in
name order), and the same setting written in two files is an error naming both.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from privdom.errors import PrivdomError
from privdom.playbook.conditions import Path as KeyPath
from privdom.playbook.conditions import format_path
from privdom.playbook.models import Playbook
from privdom.playbook.pydantic_errors import describe
from privdom.playbook.yamlfile import Issue, YamlProblem, read_yaml

# Lists that several files may each contribute to.
CONCATENATED = frozenset({("stages", "pull_in"), ("stages", "retention"), ("stages", "conversion"),
                          ("calendar", "nodes")})

HINT = "run `privdom sop validate` to list every problem in the playbook"


def default_sops_dir() -> Path:
    """The playbooks shipped with privdom: package data in a wheel, top-level `sops/` in a checkout."""
    here = Path(__file__).resolve().parent.parent
    packaged = here / "data" / "sops"
    if packaged.is_dir():
        return packaged
    return here.parent.parent / "sops"


@dataclass(frozen=True)
class Where:
    file: str
    line: int
    path: KeyPath  # the key path inside that file (list indexes as the operator counts them)


class Sources:
    """The merged data of every playbook file, and where each key path came from."""

    def __init__(self, sops: Path) -> None:
        self.sops = sops
        self.data: dict[str, Any] = {}
        self.where: dict[KeyPath, Where] = {}
        self.files: list[str] = []

    def issue(self, path: KeyPath, message: str) -> Issue:
        """An Issue at `path` of the merged data, located at the closest key that was written."""
        for cut in range(len(path), -1, -1):
            found = self.where.get(path[:cut])
            if found is not None:
                return Issue(found.file, found.line, format_path(found.path + path[cut:]), message)
        return Issue(str(self.sops), None, format_path(path), message)


def playbook_files(sops: Path) -> list[Path]:
    files = sorted([*sops.glob("*.yaml"), *sops.glob("*.yml")]) if sops.is_dir() else [sops]
    if not files or not all(f.is_file() for f in files):
        raise PrivdomError(
            f"no playbook found at {sops}",
            hint="run `privdom init` to create sops/, or point --sops / PRIVDOM_SOPS at your playbooks",
        )
    return files


def read_sources(sops: Path) -> tuple[Sources, list[Issue]]:
    sources = Sources(sops)
    issues: list[Issue] = []
    for path in playbook_files(sops):
        shown = str(path)
        sources.files.append(shown)
        try:
            data, lines = read_yaml(path, shown)
        except YamlProblem as exc:
            issues.append(exc.issue)
            continue
        if data is None:
            continue  # an empty file (or only comments) contributes nothing
        if not isinstance(data, dict):
            issues.append(Issue(shown, 1, "", f"expected a mapping of playbook keys at the top level, "
                                              f"got {type(data).__name__}"))
            continue
        offsets: dict[KeyPath, int] = {}
        _merge(sources.data, data, (), sources, shown, lines, offsets, issues)
        for local, line in lines.items():
            sources.where.setdefault(_shift(local, offsets), Where(shown, line, local))
    return sources, issues


def _merge(target: dict[str, Any], data: dict[Any, Any], path: KeyPath, sources: Sources, shown: str,
           lines: dict[KeyPath, int], offsets: dict[KeyPath, int], issues: list[Issue]) -> None:
    for key, value in data.items():
        here = (*path, key)
        if key not in target:
            target[key] = value
            continue
        old = target[key]
        if here in CONCATENATED and isinstance(old, list) and isinstance(value, list):
            offsets[here] = len(old)
            old.extend(value)
        elif isinstance(old, dict) and isinstance(value, dict) and here not in CONCATENATED:
            _merge(old, value, here, sources, shown, lines, offsets, issues)
        else:
            first = sources.where.get(here)
            first_at = f"{first.file}:{first.line}" if first else "another file"
            issues.append(Issue(shown, lines.get(here), format_path(here),
                                f"also defined in {first_at}; define it in one file only"))


def _shift(local: KeyPath, offsets: dict[KeyPath, int]) -> KeyPath:
    """A file's own key path -> the merged path (items of concatenated lists move down)."""
    head = local[:2]
    if len(local) > 2 and head in offsets and isinstance(local[2], int):
        return (*head, local[2] + offsets[head], *local[3:])
    return local


def check_playbook(sops: Path) -> tuple[Playbook | None, list[Issue]]:
    """The playbook and every problem found, in order: YAML, merging, schema, then meaning."""
    from privdom.playbook.validate import check_meaning  # validate needs Sources from here

    sources, issues = read_sources(sops)
    if issues:
        return None, issues
    order = {name: n for n, name in enumerate(sources.files)}

    def in_file_order(found: list[Issue]) -> list[Issue]:
        return sorted(found, key=lambda i: (order.get(i.file, -1), i.line or 0))

    try:
        playbook = Playbook.model_validate(sources.data)
    except ValidationError as exc:
        found = [sources.issue(path, message) for path, message in describe(exc, sources.data)]
        return None, in_file_order(found)
    origins: dict[str, str] = {}
    for stage in ("pull_in", "retention", "conversion"):
        for i, rule in enumerate(getattr(playbook.stages, stage)):
            at = sources.issue(("stages", stage, i, "template"), "")
            origins.setdefault(rule.id, f"{at.file}:{at.line}" if at.line else at.file)
    playbook.locate_templates(origins)
    return playbook, in_file_order(check_meaning(playbook, sources))


def validate_playbook(sops: Path) -> list[Issue]:
    return check_playbook(sops)[1]


def load_playbook(sops: Path) -> Playbook:
    """The validated playbook at `sops` (a folder or one file); PrivdomError on the first problem."""
    playbook, issues = check_playbook(sops)
    if issues or playbook is None:
        more = f" ({len(issues) - 1} more problem{'s' if len(issues) > 2 else ''})" if len(issues) > 1 else ""
        raise PrivdomError(f"{issues[0]}{more}", hint=HINT)
    return playbook
