"""Read `sops/*.yaml` into one validated Playbook."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from privdom.errors import PrivdomError
from privdom.playbook.models import Playbook


def default_sops_dir() -> Path:
    """The playbooks shipped with privdom: package data in a wheel, top-level `sops/` in a checkout."""
    here = Path(__file__).resolve().parent.parent
    packaged = here / "data" / "sops"
    if packaged.is_dir():
        return packaged
    return here.parent.parent / "sops"


def load_playbook(sops: Path) -> Playbook:
    files = sorted(sops.glob("*.yaml")) + sorted(sops.glob("*.yml")) if sops.is_dir() else [sops]
    if not files or not all(f.exists() for f in files):
        raise PrivdomError(
            f"no playbook found at {sops}",
            hint="run `privdom init` to create sops/, or point --sops / PRIVDOM_SOPS at your playbooks",
        )
    merged: dict[str, Any] = {}
    for path in files:
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            raise PrivdomError(f"{path}: invalid YAML: {exc}", hint="fix the YAML syntax") from None
        if not isinstance(data, dict):
            raise PrivdomError(f"{path}: expected a mapping at the top level", hint="see sops/ for examples")
        for key, value in data.items():
            if key == "stages" and key in merged:
                for stage, rules in value.items():
                    merged["stages"].setdefault(stage, []).extend(rules)
            else:
                merged[key] = value
    try:
        return Playbook.model_validate(merged)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise PrivdomError(f"{sops}: {where}: {first['msg']}", hint="run `privdom sop validate`") from None
