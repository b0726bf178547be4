"""Sign-in end to end: Chromium, the dashboard, and a real OIDC provider on loopback.

The provider is npm's ``oidc-provider`` (panva) on Debian's Node, installed by this test from
the npm registry into a throwaway folder. An outreach lead and a police officer sign in through
it; each sees only their role's pages, a link asking for another role changes nothing, a
tampered session cookie signs nobody in, sign-out is one click, and each leaves its audit entry.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, suppress
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.conftest import ROOT, TEST_KEY
from tests.e2e.browser import (
    dashboard_server,
    free_port,
    hermetic_env,
    run_cli,
)
from tests.pages import menu

pytestmark = pytest.mark.browser

ARTIFACTS = ROOT / "test-artifacts" / "signin"
OIDC_PROVIDER = "oidc-provider@8.8.1"
NAV = '[data-testid="stSidebarNav"]'
OUTREACH = "sam@outreach.example.org"
POLICE = "pc.jones@police.example.uk"
ACCESS = f"""
[[grant]]
email = "{OUTREACH}"
role = "outreach"
agency = "Outreach team"

[[grant]]
group = "npt-central"
role = "police_npt"
agency = "Police NPT"
"""


def _node() -> tuple[str, str]:
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.fail("node and npm are missing: apt-get install nodejs npm", pytrace=False)
    return node, npm


@pytest.fixture(scope="module")
def provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The OIDC provider, installed and started; yields its port and the dashboard's port."""
    node, npm = _node()
    work = tmp_path_factory.mktemp("oidc")
    installed = subprocess.run(
        [npm, "install", "--no-audit", "--no-fund", "--prefix", str(work), OIDC_PROVIDER],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert installed.returncode == 0, installed.stdout + installed.stderr
    script = work / "oidc_provider.mjs"
    shutil.copy(ROOT / "tests" / "e2e" / "oidc_provider.mjs", script)
    port, app_port = free_port(), free_port()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    log = (ARTIFACTS / "oidc-provider.log").open("wb")
    proc = subprocess.Popen(
        [node, str(script), str(port), f"http://localhost:{app_port}/oauth2callback"],
        cwd=work,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        metadata = f"http://localhost:{port}/.well-known/openid-configuration"
        deadline = time.monotonic() + 30
        while True:
            with suppress(OSError):
                with urllib.request.urlopen(metadata, timeout=2) as answer:
                    json.load(answer)
                break
            assert proc.poll() is None, (ARTIFACTS / "oidc-provider.log").read_text()
            assert time.monotonic() < deadline, "the OIDC provider did not start"
            time.sleep(0.2)
        yield {"port": port, "app_port": app_port, "metadata": metadata}
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()


@pytest.fixture(scope="module")
def deployment(
    provider: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    """The dashboard with sign-in through the provider and an access map, on a demo store."""
    work = tmp_path_factory.mktemp("signin")
    home = work / "home"
    home.mkdir()
    secrets = work / "secrets.toml"
    secrets.write_text(
        "[auth]\n"
        f'redirect_uri = "http://localhost:{provider["app_port"]}/oauth2callback"\n'
        f'cookie_secret = "{"c0ffee" * 8}"\n'
        'client_id = "streetsafe"\n'
        'client_secret = "streetsafe-test-secret"\n'
        f'server_metadata_url = "{provider["metadata"]}"\n'
        'client_kwargs = { prompt = "login" }\n'
    )
    access = work / "access.toml"
    access.write_text(ACCESS)
    env = hermetic_env(
        home,
        STREETSAFE_PSEUDONYM_KEY=TEST_KEY,
        STREETSAFE_KEY_FILE=str(work / "unused.key"),
        STREETSAFE_SECRETS=str(secrets),
        STREETSAFE_ACCESS=str(access),
        STREAMLIT_SERVER_FILE_WATCHER_TYPE="none",
    )
    store = work / "demo.duckdb"
    run_cli(["demo", "--store", str(store), "--end", "2026-10-31"], env=env, cwd=ROOT)
    with ExitStack() as running:
        running.enter_context(
            dashboard_server(
                store,
                port=provider["app_port"],
                env=env,
                cwd=ROOT,
                log=ARTIFACTS / "dashboard.log",
            )
        )
        yield {
            "url": f"http://localhost:{provider['app_port']}/",
            "env": env,
            "store": store,
            "stop": running.close,  # the embedded store is the server's while it runs
        }


@pytest.fixture
def context(browser: Browser, request: pytest.FixtureRequest) -> Iterator[BrowserContext]:
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        yield ctx
    finally:
        for n, page in enumerate(ctx.pages):
            with suppress(Exception):
                page.screenshot(path=ARTIFACTS / f"{request.node.name}-{n}.png", full_page=True)
        ctx.close()


def _sign_in(page: Page, url: str, email: str) -> None:
    page.goto(url, wait_until="domcontentloaded")
    page.get_by_role("button", name="Sign in with your organisation's account").click()
    page.locator('input[name="login"]').fill(email, timeout=30_000)
    page.locator('input[name="password"]').fill("any password")
    page.locator('button[type="submit"]').click()
    expect(page.get_by_role("heading", name="Night map")).to_be_visible(timeout=45_000)


def _menu(page: Page) -> list[str]:
    expect(page.locator(NAV)).to_be_visible(timeout=30_000)
    links = page.locator('[data-testid="stSidebarNavLink"]').all_inner_texts()
    return [link.strip().splitlines()[-1] for link in links]  # (after each icon)


def _audit(deployment: dict[str, Any]) -> list[dict[str, Any]]:
    out = run_cli(
        ["audit", "--format", "json", "--store", str(deployment["store"])],
        env=deployment["env"],
        cwd=ROOT,
    )
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def test_nobody_signed_in_sees_only_the_sign_in_page(
    deployment: dict[str, Any], context: BrowserContext
) -> None:
    page = context.new_page()
    page.goto(deployment["url"] + "?role=outreach", wait_until="domcontentloaded")
    expect(
        page.get_by_role("button", name="Sign in with your organisation's account")
    ).to_be_visible(timeout=45_000)
    assert page.locator('[data-testid="stDeckGlJsonChart"]').count() == 0
    assert page.locator(NAV).count() == 0
    assert page.locator('[data-testid="stAppDeployButton"]').count() == 0


def test_an_outreach_lead_signs_in_and_sees_the_outreach_pages(
    deployment: dict[str, Any], context: BrowserContext
) -> None:
    page = context.new_page()
    _sign_in(page, deployment["url"], OUTREACH)
    expect(page.get_by_text(f"Signed in as {OUTREACH}")).to_be_visible()
    assert _menu(page) == menu("outreach")
    expect(page.get_by_text("Outreach lead · Outreach team")).to_be_visible()
    assert page.locator('[data-testid="stAppDeployButton"]').count() == 0
    page.get_by_role("button", name="Sign out").click()
    # the provider asks whether to end its own session too (RP-initiated logout)
    page.locator('button[name="logout"]').click(timeout=30_000)
    expect(
        page.get_by_role("button", name="Sign in with your organisation's account")
    ).to_be_visible(timeout=45_000)
    # signed out for good: the browser kept no sign-in (a reload does not sign anyone in)
    page.goto(deployment["url"], wait_until="domcontentloaded")
    expect(
        page.get_by_role("button", name="Sign in with your organisation's account")
    ).to_be_visible(timeout=45_000)
    assert page.locator(NAV).count() == 0


def test_a_police_officer_gets_the_police_pages_whatever_the_link_says(
    deployment: dict[str, Any], context: BrowserContext
) -> None:
    page = context.new_page()
    _sign_in(page, deployment["url"], POLICE)
    assert _menu(page) == menu("police_npt")
    expect(page.get_by_text("Police neighbourhood team · Police NPT")).to_be_visible()
    page.goto(deployment["url"] + "?role=outreach&layers=outreach", wait_until="domcontentloaded")
    expect(page.get_by_text("Police neighbourhood team · Police NPT")).to_be_visible(timeout=45_000)
    expect(page.get_by_text("Outreach lead")).to_have_count(0)


def test_a_tampered_session_cookie_signs_nobody_in(
    deployment: dict[str, Any], context: BrowserContext
) -> None:
    page = context.new_page()
    _sign_in(page, deployment["url"], POLICE)
    cookies = context.cookies()
    user = next(c for c in cookies if c["name"] == "_streamlit_user")
    value = user["value"]
    forged = value[:-3] + ("A" if value[-3] != "A" else "B") + value[-2:]
    context.add_cookies([{**user, "value": forged}])  # type: ignore[typeddict-item]
    page.goto(deployment["url"], wait_until="domcontentloaded")
    expect(
        page.get_by_role("button", name="Sign in with your organisation's account")
    ).to_be_visible(timeout=45_000)
    assert page.locator('[data-testid="stDeckGlJsonChart"]').count() == 0


def test_phone_size_and_low_light(
    deployment: dict[str, Any], browser: Browser, request: pytest.FixtureRequest
) -> None:
    """The night as an outreach lead lives it, on a phone with the low-light switch on."""
    ctx = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    try:
        page = ctx.new_page()
        _sign_in(page, deployment["url"], OUTREACH)
        page.get_by_test_id("stExpandSidebarButton").click()
        page.get_by_text("Low-light mode (for the van at night)").click()
        page.get_by_test_id("stSidebarCollapseButton").locator("button").click()
        page.wait_for_timeout(1500)
        path: Path = ARTIFACTS / "phone-low-light.png"
        page.screenshot(path=path, full_page=True)
        assert path.stat().st_size > 0
    finally:
        ctx.close()


def test_each_step_left_its_audit_entry(deployment: dict[str, Any]) -> None:
    """Read after the server stops (it holds the embedded store while it runs)."""
    deployment["stop"]()
    entries = _audit(deployment)
    events = [(e["event"], e["actor"]) for e in entries]
    assert ("authn_login_success", OUTREACH) in events
    assert ("authn_logout", OUTREACH) in events
    assert ("authn_login_success", POLICE) in events
    refused = [e for e in entries if e["event"] == "authz_fail"]
    assert any(
        e["actor"] == POLICE and e["detail"].get("role_asked") == "outreach" for e in refused
    )
    failed = [e for e in entries if e["event"] == "authn_login_fail"]
    assert any(e["detail"].get("via") == "oidc" for e in failed)
    reads = [e for e in entries if e["event"] == "sensitive_read"]
    assert {e["actor"] for e in reads} == {OUTREACH, POLICE}
    verified = run_cli(
        ["audit", "verify", "--store", str(deployment["store"])],
        env=deployment["env"],
        cwd=ROOT,
    )
    assert "audit trail whole" in verified
