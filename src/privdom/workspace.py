"""Creating a workspace: the database and a copy of the default playbooks."""

from __future__ import annotations

import shutil
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


@dataclass
class InitResult:
    db: Path
    sops: Path
    copied: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)


def init_workspace(db: Path, sops: Path, *, force: bool = False) -> InitResult:
    """Create or upgrade the database, and copy shipped playbooks that are not there yet.

    An existing playbook file may hold the operator's edits, so it is only replaced with `force`.
    """
    conn = store.connect(db, create=True)
    conn.close()
    result = InitResult(db=db, sops=sops)
    sops.mkdir(parents=True, exist_ok=True)
    for source in sorted(default_sops_dir().glob("*.yaml")):
        target = sops / source.name
        if target.exists() and not force:
            result.kept.append(source.name)
            continue
        shutil.copyfile(source, target)
        result.copied.append(source.name)
    return result
