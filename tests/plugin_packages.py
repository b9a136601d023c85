"""Local packages that register signal models, pip-installed into the test environment.

A user brings a model as a package of their own; the tests do the same: before collection
(`pytest_configure` in tests/conftest.py) each package below is installed with pip, as a user
would, unless the environment already holds exactly its current files. Tests parametrised over
`installed()` models then cover it.
"""

from __future__ import annotations

import importlib
import subprocess
import sys
import tomllib
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

# Each: a directory with its own pyproject.toml and its modules under src/.
PACKAGES: list[Path] = [REPO / "examples" / "chloe-example-model"]


def _up_to_date(project: Path) -> bool:
    """True when the installed distribution has this project's version and every source file."""
    meta = tomllib.loads((project / "pyproject.toml").read_text())["project"]
    try:
        dist = distribution(meta["name"])
    except PackageNotFoundError:
        return False
    if dist.version != meta["version"]:
        return False
    installed = {str(f): f for f in dist.files or []}
    for source in (project / "src").rglob("*.py"):
        rel = source.relative_to(project / "src").as_posix()
        target = installed.get(rel)
        if target is None or Path(str(target.locate())).read_bytes() != source.read_bytes():
            return False
    return True


def install(project: Path) -> None:
    """`pip install` the project (no dependencies: Chloe is already there) unless up to date."""
    if _up_to_date(project):
        return
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--force-reinstall",
            str(project),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"pip install {project} failed:\n{proc.stderr}")
    importlib.invalidate_caches()


def install_into(project: Path, target: Path) -> Path:
    """`pip install --target`: the project's models exist only for processes given `target` on
    their path (the daemons of the fault tests), never in the test environment itself."""
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--target",
            str(target),
            str(project),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"pip install --target {target} {project} failed:\n{proc.stderr}")
    return target


def install_all() -> None:
    """Install every package of PACKAGES (called once, before the tests are collected)."""
    for project in PACKAGES:
        install(project)
