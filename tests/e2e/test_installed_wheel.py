"""The built wheel, installed in a fresh virtual environment, works from any folder.

Once with the newest releases of the dependencies, once with each at the lowest version
``pyproject.toml`` allows: both must load the demo, export a map and serve the dashboard, with
no clone of the repository in sight (the product's data travels inside the wheel).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
import urllib.request
from datetime import date, timedelta
from pathlib import Path

import pytest

from tests.conftest import ROOT, TEST_KEY
from tests.e2e.browser import dashboard_server, free_port

pytestmark = pytest.mark.wheel

_LOWER_BOUND = re.compile(r"^([A-Za-z0-9_.-]+)(\[[^\]]*\])?>=([^,;\s]+)")


def lowest_versions() -> list[str]:
    """Return ``name==version`` for every runtime dependency, at the lowest version allowed."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pins = []
    for requirement in project["dependencies"]:
        match = _LOWER_BOUND.match(requirement)
        assert match, f"{requirement!r} states no lower bound (name>=version)"
        name, extras, version = match.groups()
        pins.append(f"{name}{extras or ''}=={version}")
    return pins


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Build the wheel from the repository (as ``pip wheel .`` would for a user)."""
    out = tmp_path_factory.mktemp("dist")
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(ROOT)])
    (built,) = out.glob("streetsafe-*.whl")
    return built


@pytest.fixture(params=["newest", "lowest"], scope="module")
def installed(
    request: pytest.FixtureRequest, wheel: Path, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """A fresh virtual environment with the wheel installed; its ``bin`` folder."""
    venv = tmp_path_factory.mktemp(f"venv-{request.param}")
    _run([sys.executable, "-m", "venv", str(venv)])
    pip = [
        str(venv / "bin" / "python"),
        "-m",
        "pip",
        "install",
        "-q",
        "--disable-pip-version-check",
    ]
    pins = lowest_versions() if request.param == "lowest" else []
    _run([*pip, str(wheel), *pins])
    return venv / "bin"


@pytest.fixture
def elsewhere(tmp_path: Path) -> Path:
    """A folder with nothing of the repository in it, to run from."""
    folder = tmp_path / "somewhere-else"
    folder.mkdir()
    return folder


def test_the_installed_wheel_loads_the_demo_and_exports_a_map(
    installed: Path, elsewhere: Path
) -> None:
    env = _env(elsewhere)
    store = str(elsewhere / "demo.duckdb")
    demo = _run([str(installed / "streetsafe"), "demo", "--store", store], cwd=elsewhere, env=env)
    assert "demo store ready" in demo.stdout
    assert "police.uk 2022-02-southampton-street.csv: 3,095 added" in demo.stdout
    exported = _run(
        [
            str(installed / "streetsafe"),
            *("map", "--role", "police_npt", "--format", "csv", "--store", store),
        ],
        cwd=elsewhere,
        env=env,
    )
    header, *rows = exported.stdout.splitlines()
    assert header.startswith("cell,resolution,layer,value,protection")
    assert len(rows) > 10
    assert not any(",outreach," in row for row in rows)  # never outreach contacts to police
    # the route planner's solver (OR-Tools) at its lowest version too: some night of the
    # forecast's week (after the demo's last day, the end of last month) has stops to plan
    end = date.today().replace(day=1) - timedelta(days=1)
    routes = []
    for n in range(7):
        night = end + timedelta(days=n)
        command = [str(installed / "streetsafe"), "route", "--night", f"{night}", "--seconds", "1"]
        done = subprocess.run(
            [*command, "--format", "gpx", "--store", store],
            cwd=elsewhere,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        assert done.returncode in (0, 2), done.stderr  # 2: a night with nothing forecast
        routes.append(done.stdout)
        if done.returncode == 0:
            break
    assert "<rte>" in routes[-1], routes


def test_the_installed_wheel_serves_the_dashboard(installed: Path, elsewhere: Path) -> None:
    env = _env(elsewhere)
    store = elsewhere / "demo.duckdb"
    _run([str(installed / "streetsafe"), "demo", "--store", str(store)], cwd=elsewhere, env=env)
    with dashboard_server(
        store,
        port=free_port(),
        env=env,
        cwd=elsewhere,
        log=elsewhere / "dashboard.log",
        streetsafe=[str(installed / "streetsafe")],
    ) as url:
        with urllib.request.urlopen(f"{url}_stcore/health", timeout=10) as answer:
            assert answer.read() == b"ok"
        with urllib.request.urlopen(url, timeout=10) as answer:
            assert b"<noscript>" in answer.read()  # Streamlit's page, from the installed package


def _env(home: Path) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("STREETSAFE_", "PYTHON"))}
    return {**keep, "HOME": str(home), "STREETSAFE_PSEUDONYM_KEY": TEST_KEY}


def _run(
    command: list[str], *, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=900, check=False
    )
    assert done.returncode == 0, f"{' '.join(command)}\n{done.stdout}\n{done.stderr}"
    return done
