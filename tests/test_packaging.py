"""The wheel must carry the default playbooks and the example brand: `pip install .` is enough."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(out), str(ROOT)],
        check=True,
        capture_output=True,
    )
    (path,) = out.glob("privdom-*.whl")
    return zipfile.ZipFile(path)


def test_wheel_carries_every_default_playbook(wheel: zipfile.ZipFile) -> None:
    names = set(wheel.namelist())
    for source in sorted((ROOT / "sops").glob("*.yaml")):
        assert f"privdom/data/sops/{source.name}" in names


def test_wheel_carries_the_example_brand(wheel: zipfile.ZipFile) -> None:
    names = set(wheel.namelist())
    for source in sorted((ROOT / "examples" / "brand").iterdir()):
        assert f"privdom/data/examples/brand/{source.name}" in names
    assert "privdom/data/examples/generate.py" in names


def test_wheel_declares_the_console_script(wheel: zipfile.ZipFile) -> None:
    (entry_points,) = [n for n in wheel.namelist() if n.endswith("entry_points.txt")]
    assert "privdom = privdom.cli.main:run" in wheel.read(entry_points).decode()
