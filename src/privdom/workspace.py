"""Creating a workspace: the database and a copy of the default playbooks."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from privdom import store
from privdom.playbook import default_sops_dir

# The example brand's exports, in the order a new workspace takes them: groups and members first,
# so that orders, memberships and activity find the ids they point at.
EXAMPLE_FILES = (
    ("groups", "groups.csv"),
    ("members", "members.csv"),
    ("orders", "orders.csv"),
    ("group-members", "group_members.csv"),
    ("activity", "activity.csv"),
)
# The example brand was exported at the end of 2026-11-22, so its first morning is the 23rd.
EXAMPLE_MORNING = date(2026, 11, 23)


def examples_dir() -> Path:
    """The bundled example brand: package data in a wheel, top-level `examples/brand` in a checkout."""
    here = Path(__file__).resolve().parent
    packaged = here / "data" / "examples" / "brand"
    if packaged.is_dir():
        return packaged
    return here.parent.parent / "examples" / "brand"


def example_sops_dir() -> Path:
    """The example brand's own playbook (茶语 TeaTalk), which `demo` uses."""
    return examples_dir() / "sops"


# The lines of the shipped playbook.yaml that `init --brand / --owner` fill in.
_BRAND_LINE = re.compile(r"^brand: .*$", re.MULTILINE)
_OWNER_LINE = re.compile(r"^(\s+default_owner: ).*$", re.MULTILINE)


def personalised(text: str, brand: str | None, owner: str | None) -> str:
    """A shipped playbook file with the brand and the default owner written in (as YAML strings)."""
    if brand is not None:
        text = _BRAND_LINE.sub(lambda _: f"brand: {json.dumps(brand, ensure_ascii=False)}", text)
    if owner is not None:
        text = _OWNER_LINE.sub(lambda m: f"{m[1]}{json.dumps(owner, ensure_ascii=False)}", text)
    return text


@dataclass
class InitResult:
    db: Path
    sops: Path
    copied: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)


def init_workspace(
    db: Path,
    sops: Path,
    *,
    force: bool = False,
    brand: str | None = None,
    owner: str | None = None,
    source: Path | None = None,
) -> InitResult:
    """Create or upgrade the database, and copy shipped playbooks that are not there yet: the
    brand-neutral default (or `source`), with `brand` and the default `owner` filled in.

    An existing playbook file may hold the operator's edits, so it is only replaced with `force`.
    """
    conn = store.connect(db, create=True)
    conn.close()
    result = InitResult(db=db, sops=sops)
    sops.mkdir(parents=True, exist_ok=True)
    for shipped in sorted((source or default_sops_dir()).glob("*.yaml")):
        target = sops / shipped.name
        if target.exists() and not force:
            result.kept.append(shipped.name)
            continue
        text = personalised(shipped.read_text(encoding="utf-8"), brand, owner)
        target.write_text(text, encoding="utf-8")
        result.copied.append(shipped.name)
    return result
