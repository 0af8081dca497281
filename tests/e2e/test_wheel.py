"""A built wheel installs and works away from the source tree: ``pip install .`` is enough."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out), str(ROOT)],
        check=True,
        capture_output=True,
    )
    (built,) = out.glob("hexbus-*.whl")
    return built


def test_the_wheel_carries_every_package_and_data_file(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    sources = {
        f"hexbus/{path.relative_to(ROOT / 'src').as_posix()}"
        for path in (ROOT / "src").rglob("*")
        if path.is_file()
        and path.suffix in {".py", ".lua", ".html", ".typed"}
        and "__pycache__" not in path.parts
    }
    assert sources - names == set(), "files in src/ missing from the wheel"
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    text = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "hexbus = hexbus.adapters.cli.main:run" in text


def test_the_installed_wheel_imports_and_runs_outside_the_source_tree(
    wheel: Path, tmp_path: Path
) -> None:
    target = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "--quiet",
            "--target",
            str(target),
            str(wheel),
        ],
        check=True,
        capture_output=True,
    )
    script = (
        "import hexbus, hexbus.adapters.dramatiq.scripts as s, redis;"
        f"assert hexbus.__file__.startswith({str(target)!r}), hexbus.__file__;"
        "print(len(s.load_script('publish')) > 100)"
    )
    # Dependencies come from this environment; hexbus itself only from the installed wheel.
    env = {"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        [sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, {str(target)!r}); {script}"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True"
    cli = subprocess.run(
        [
            sys.executable,
            "-I",
            "-c",
            f"import sys; sys.path.insert(0, {str(target)!r}); sys.argv=['hexbus','--help'];"
            "from hexbus.adapters.cli.main import run; run()",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert cli.returncode == 0, cli.stderr
    assert "worker" in cli.stdout


def test_the_installed_wheel_ships_the_clinic_example_and_runs_its_demo(
    wheel: Path, tmp_path: Path
) -> None:
    target = tmp_path / "site"
    install = ["install", "--no-deps", "--quiet", "--target", str(target), str(wheel)]
    subprocess.run([sys.executable, "-m", "pip", *install], check=True, capture_output=True)
    # Dependencies come from this environment; hexbus itself only from the installed wheel.
    env = {"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"}
    prelude = f"import sys; sys.path.insert(0, {str(target)!r})"

    def run(code: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-I", "-c", f"{prelude}; {code}"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            env=env,
            check=False,
            timeout=120,
        )

    loaded = run(
        "import hexbus.examples.clinic as c;"
        f"assert c.__file__.startswith({str(target)!r}), c.__file__; print(c.register.__name__)"
    )
    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stdout.strip() == "register"
    demo = run("sys.argv = ['hexbus', 'demo']; from hexbus.adapters.cli.main import run; run()")
    assert demo.returncode == 0, demo.stdout + demo.stderr
    assert "appointment apt-1001 is CONFIRMED" in demo.stdout
