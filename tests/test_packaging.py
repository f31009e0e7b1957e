"""The wheel must carry the default playbooks and the example brand: `pip install .` is enough."""

from __future__ import annotations

import json
import re
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
    brand = ROOT / "examples" / "brand"
    files = sorted(f for f in brand.rglob("*") if f.is_file())
    assert any(f.parent.name == "sops" for f in files)  # the example brand's own playbook, which demo uses
    for source in files:
        assert f"privdom/data/examples/brand/{source.relative_to(brand).as_posix()}" in names
    assert "privdom/data/examples/generate.py" in names


def test_wheel_declares_the_console_script(wheel: zipfile.ZipFile) -> None:
    (entry_points,) = [n for n in wheel.namelist() if n.endswith("entry_points.txt")]
    assert "privdom = privdom.cli.main:run" in wheel.read(entry_points).decode()


def test_wheel_carries_the_report_template(wheel: zipfile.ZipFile) -> None:
    assert "privdom/render/templates/report.html.j2" in set(wheel.namelist())


def test_installed_wheel_runs_the_demo(wheel: zipfile.ZipFile, tmp_path: Path) -> None:
    """Install the wheel alone (its dependencies come from this environment) and run it away from the checkout."""
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-index"]
        + ["--target", str(target), str(wheel.filename)],
        check=True,
        capture_output=True,
    )
    run = subprocess.run(
        [sys.executable, "-m", "privdom", "demo", "--format", "json"],
        cwd=tmp_path,
        env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin", "PRIVDOM_LOG_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr
    assert re.search(r"imported members +2000 records: 2000 new", run.stderr)
    assert json.loads(run.stdout)["tasks"], "the installed demo printed an empty plan"


def test_wheel_marks_the_package_as_typed(wheel: zipfile.ZipFile) -> None:
    """`py.typed` (PEP 561): type checkers read privdom's own hints in scripts that import it."""
    assert "privdom/py.typed" in set(wheel.namelist())
