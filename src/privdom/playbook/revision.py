"""A playbook as it was at a git revision, read with `git show` (the working tree is not touched)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from privdom.errors import PrivdomError


def _git(cwd: Path, *args: str) -> bytes:
    try:
        done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, check=False)
    except FileNotFoundError:
        raise PrivdomError(
            "git is not installed", hint="install git, or pass a playbook folder instead of --rev"
        ) from None
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise PrivdomError(
            f"git {' '.join(args)}: {message[-1] if message else 'failed'}",
            hint="--rev takes a revision of the git repository that holds the playbook folder, e.g. HEAD~1",
        )
    return done.stdout


def export_revision(sops: Path, rev: str, into: Path) -> Path:
    """Write the playbook files of `sops` as they were at `rev` into the folder `into`; returns it."""
    folder = sops if sops.is_dir() else sops.parent
    top = Path(_git(folder, "rev-parse", "--show-toplevel").decode().strip())
    prefix = folder.resolve().relative_to(top.resolve()).as_posix()
    prefix = "" if prefix == "." else prefix + "/"
    names = _git(top, "ls-tree", "--name-only", rev, "--", prefix or ".").decode().splitlines()
    wanted = [n for n in names if n.endswith((".yaml", ".yml")) and (sops.is_dir() or n == prefix + sops.name)]
    if not wanted:
        raise PrivdomError(
            f"no playbook file under {prefix or './'} at revision {rev}",
            hint="check the revision with `git log -- sops`",
        )
    into.mkdir(parents=True, exist_ok=True)
    for name in wanted:
        (into / Path(name).name).write_bytes(_git(top, "show", f"{rev}:{name}"))
    return into
