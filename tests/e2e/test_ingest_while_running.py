"""A team leaves the dashboard up and loads last night's file from the command line: the file
goes in (on the embedded store, handed to the dashboard that holds it) and its records show on
the page, with no restart."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.conftest import ENGINES, ROOT, TEST_KEY, _store_url
from tests.e2e.browser import PageLog, dashboard_env, dashboard_server, free_port

EMAIL = "lead@outreach.example.org"
PASSWORD = "a long night-van passphrase"
HEADER = (
    "record_id,occurred_at,latitude,longitude,place,category,severity,agency,person_ref,sharing"
)


def night_file(path: Path, night: str, n: int = 30) -> Path:
    """A file of ``n`` incidents on ``night`` in central Southampton."""
    rows = [
        f"T-{night}-{i},{night} 23:{i % 60:02d},{50.905 + (i % 10) * 0.001:.4f},"
        f"{-1.404 + (i // 10) * 0.001:.4f},,violence,high,Outreach team,P-{i % 6},partners"
        for i in range(n)
    ]
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    return path


def cli(
    args: list[str], env: Mapping[str, str], stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "streetsafe.cli", *args],
        env=dict(env),
        cwd=ROOT,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def sign_in(page: Page, url: str) -> None:
    page.goto(url, wait_until="domcontentloaded")
    page.get_by_label("Email").fill(EMAIL, timeout=60_000)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name=re.compile("Night map")).first.wait_for(timeout=120_000)


@pytest.mark.parametrize("engine", ENGINES)
def test_a_file_ingested_while_the_dashboard_runs_shows_on_its_page(
    engine: str, request: pytest.FixtureRequest, tmp_path: Path, browser: Browser
) -> None:
    env = dashboard_env(tmp_path, TEST_KEY)
    for url in _store_url(engine, request, tmp_path):
        store = ["--store", url]
        added = cli(
            ["users", "add", EMAIL, "--role", "outreach", "--agency", "Outreach team",
             "--password-stdin", *store],
            env,
            stdin=PASSWORD + "\n",
        )  # fmt: skip
        assert added.returncode == 0, added.stderr
        first = cli(["ingest", "incidents", str(night_file(tmp_path / "a.csv", "2026-11-01")),
                     *store], env)  # fmt: skip
        assert first.returncode == 0, first.stderr
        log = tmp_path / "dashboard.log"
        with dashboard_server(url, port=free_port(), env=env, cwd=ROOT, log=log) as address:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            calls = PageLog()
            calls.attach(page)
            sign_in(page, address)
            expect(page.get_by_text(re.compile(r"nights 2026-11-01 to 2026-11-01"))).to_be_visible(
                timeout=60_000
            )
            second = cli(
                ["ingest", "incidents", str(night_file(tmp_path / "b.csv", "2026-11-20")),
                 "--json", *store],
                env,
            )  # fmt: skip
            assert second.returncode == 0, second.stdout + second.stderr
            assert '"accepted": 30' in second.stdout
            handed = "handed to it to ingest" in second.stderr
            assert handed == (engine == "embedded"), second.stderr
            # the next rerun (any click) shows the new night: no restart, no reload
            page.get_by_text("Low-light mode").click()
            expect(page.get_by_text(re.compile(r"nights 2026-11-01 to 2026-11-20"))).to_be_visible(
                timeout=60_000
            )
            assert not calls.errors, calls.report()
        if engine == "embedded":
            assert not Path(url + ".ingest.sock").exists()  # the stopped dashboard took it away
            again = cli(["ingest", "incidents", str(tmp_path / "b.csv"), "--json", *store], env)
            assert again.returncode == 0, again.stderr
            assert '"duplicates": 30' in again.stdout
            assert "handed" not in again.stderr
