"""What a new team meets before the bot runs (issue 13, items 3, 13 and 14): the package
metadata, what the wheel carries, the Makefile's demo and clean, what git ignores, and a
README that goes from a clean machine to a bot in a channel, in order."""

from __future__ import annotations

import re
import shutil
import subprocess
import tomllib
from importlib.resources import files
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_license_metadata_and_the_setuptools_it_needs() -> None:
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert meta["project"]["license"] == "MIT"  # a PEP 639 expression: setuptools 77+
    (requirement,) = [r for r in meta["build-system"]["requires"] if r.startswith("setuptools")]
    assert tuple(map(int, re.findall(r"\d+", requirement)[:1])) >= (77,)
    assert meta["project"]["license-files"] == ["LICENSE"]
    assert (ROOT / "LICENSE").read_text().startswith("MIT License")


def test_the_package_carries_the_reference_config() -> None:
    packaged = files("bot.config").joinpath("example.yaml").read_text(encoding="utf-8")
    assert packaged == (ROOT / "config.example.yaml").read_text(encoding="utf-8")
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "example.yaml" in meta["tool"]["setuptools"]["package-data"]["bot.config"]


@pytest.fixture
def make_dir(tmp_path: Path) -> Path:
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    shutil.copy(ROOT / "Makefile", tmp_path / "Makefile")
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def test_make_demo_installs_the_bot_without_the_test_extra(make_dir: Path) -> None:
    plan = subprocess.run(
        ["make", "--no-print-directory", "-n", "demo"],
        cwd=make_dir,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    installs = [line for line in plan.splitlines() if "pip install" in line]
    assert installs and all("[test]" not in line for line in installs)
    assert plan.splitlines()[-1] == ".venv/bin/deployday demo"


def test_make_clean_removes_what_the_bot_and_the_build_leave(make_dir: Path) -> None:
    left = [
        "digests/x.md",
        "exports/x.csv",
        "deployday.sqlite3",
        "deployday-demo.sqlite3-wal",
        "build/lib/x",
        "dist/x.whl",
        "deployday.egg-info/PKG-INFO",
        ".venv/bin/python",
    ]
    for name in left:
        (make_dir / name).parent.mkdir(parents=True, exist_ok=True)
        (make_dir / name).write_text("x")
    (make_dir / "config.yaml").write_text("kept: yes\n")
    subprocess.run(
        ["make", "--no-print-directory", "clean"], cwd=make_dir, capture_output=True, check=True
    )
    assert sorted(p.name for p in make_dir.iterdir()) == [
        "Makefile",
        "config.yaml",
        "pyproject.toml",
    ]


@pytest.mark.parametrize(
    "path", ["config.yaml", "team.local.yaml", "digests/a.md", "exports/a.csv", "dist/a.whl"]
)
def test_git_ignores_local_configs_and_outputs(path: str) -> None:
    if not (ROOT / ".git").exists() or shutil.which("git") is None:
        pytest.skip("not a git checkout")
    done = subprocess.run(["git", "check-ignore", "-q", path], cwd=ROOT, check=False)
    assert done.returncode == 0, f"{path} is not ignored"


def _section(readme: str, title: str) -> str:
    return readme.split(f"\n## {title}\n", 1)[1].split("\n## ", 1)[0]


def test_readme_goes_from_a_clean_machine_to_a_bot_in_a_channel() -> None:
    readme = (ROOT / "README.md").read_text()
    steps = _section(readme, "Running it for your team")
    order = ["pipx install .", "deployday init", "admins:", "self_checkin: false",
             "!roster add", "export DEPLOYDAY_", "deployday check-config", "deployday run",
             "systemctl enable --now deployday"]  # fmt: skip
    where = [steps.find(step) for step in order]
    assert -1 not in where and where == sorted(where), dict(zip(order, where, strict=True))
    assert "the `fedora` Matrix network" in steps and "`mail:` section" in steps
    assert "Exit status" in steps
    titles = re.findall(r"^## (.+)$", readme, re.M)
    assert titles.index("In chat") < titles.index("Matrix")
    assert titles.index("In chat") < titles.index("Running more than one instance")
