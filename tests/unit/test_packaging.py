"""Every sub-package of src/ ships: setuptools lists packages explicitly (ADR 0001).

``package-dir`` maps src/ to ``hexbus``, and ``[tool.setuptools] packages`` names each
sub-package; one that is missing works from a checkout but is absent from the wheel.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src"


def _listed() -> set[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    setuptools = config["tool"]["setuptools"]
    assert setuptools["package-dir"] == {"hexbus": "src"}
    return set(setuptools["packages"])


def _on_disk() -> set[str]:
    packages = set()
    for init in SRC.rglob("__init__.py"):
        relative = init.parent.relative_to(SRC)
        packages.add(".".join(("hexbus", *relative.parts)))
    return packages


def test_every_package_under_src_is_listed_in_pyproject() -> None:
    missing = _on_disk() - _listed()

    assert not missing, f"add to [tool.setuptools] packages in pyproject.toml: {sorted(missing)}"


def _data_only() -> set[str]:
    # Folders of data files (the Lua scripts) are listed so setuptools ships them as packages.
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return {
        name
        for name in config["tool"]["setuptools"]["package-data"]
        if (SRC.joinpath(*name.split(".")[1:])).is_dir()
    }


def test_every_listed_package_exists() -> None:
    stale = _listed() - _on_disk() - _data_only()

    assert not stale, f"listed in pyproject.toml but not under src/: {sorted(stale)}"


def test_every_source_directory_is_a_package() -> None:
    # A directory of modules without __init__.py imports from a checkout (as a namespace
    # package) but is never listed, so it would be missing from the wheel.
    loose = sorted(
        str(folder.relative_to(SRC))
        for folder in {module.parent for module in SRC.rglob("*.py")}
        if not (folder / "__init__.py").exists() and "__pycache__" not in folder.parts
    )

    assert not loose, f"add an __init__.py to: {loose}"


def test_the_walk_finds_the_packages_it_must() -> None:
    # Guards the test itself: a wrong root would find nothing and pass.
    assert {"hexbus", "hexbus.domain", "hexbus.testing"} <= _on_disk()
