"""Fixtures of the browser tests: Debian's Chromium, and the dashboard on a demo store."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, sync_playwright

from tests.conftest import ROOT, TEST_KEY
from tests.e2e.browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    dashboard_env,
    dashboard_server,
    free_port,
    run_cli,
)

ARTIFACTS = ROOT / "test-artifacts" / "browser"


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless; the test fails (never skips) when it is not installed."""
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: apt-get install chromium "
            "(the browser tests never download a browser)",
            pytrace=False,
        )
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=list(CHROMIUM_ARGS))
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="session")
def dashboard_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The dashboard in demo mode on a fresh demo store, served from 127.0.0.1."""
    work = tmp_path_factory.mktemp("browser")
    env = dashboard_env(work, TEST_KEY, STREAMLIT_CLIENT_TOOLBAR_MODE="minimal")
    store = work / "demo.duckdb"
    run_cli(["demo", "--store", str(store), "--end", "2026-10-31"], env=env, cwd=ROOT)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with dashboard_server(
        store, port=free_port(), env=env, cwd=ROOT, log=ARTIFACTS / "dashboard.log"
    ) as url:
        yield url
