"""Sign-in on a store of real records: roles from identity, never from a link; the audit trail.

AppTest plays each way in: the identity provider (``at.user``, ``at.secrets``), a local account
(the sign-in form), and nobody. Every refusal leaves its audit entry.
"""

from __future__ import annotations

import io
import json
import shutil
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from dashboard.state import Viewer
from dashboard.upload import ingest_upload
from geo.errors import PolicyError
from ingest.pipeline import ingest_file
from store import Store, open_store
from streetsafe import audit
from streetsafe.accounts import add_user, disable_user
from streetsafe.demo import generate_demo
from streetsafe.deployment import seal_context
from streetsafe.policies import load_policies
from streetsafe.releases import ReleaseRules, make_releases
from streetsafe.settings import Settings
from tests.conftest import ROOT, TEST_KEY
from tests.pages import HEADERS, PAGES

APP = str(ROOT / "dashboard" / "app.py")
PASSWORD = "a long night shift 42"
AUTH = {
    "auth": {
        "redirect_uri": "http://localhost:8501/oauth2callback",
        "cookie_secret": "x" * 32,
        "client_id": "streetsafe",
        "client_secret": "secret",
        "server_metadata_url": "http://127.0.0.1:1/.well-known/openid-configuration",
    }
}
ACCESS = """
[[grant]]
email = "sam@outreach.example.org"
role = "outreach"
agency = "Outreach team"

[[grant]]
group = "npt-central"
role = "police_npt"
agency = "Police NPT"

[[grant]]
domain = "council.example.gov.uk"
role = "community_safety"
agency = "ASB team"

[[grant]]
email = "audit@council.example.gov.uk"
role = "admin"
"""
IDENTITIES: dict[str, dict[str, Any]] = {
    "outreach": {"email": "sam@outreach.example.org"},
    "police_npt": {"email": "pc.jones@police.example.uk", "groups": ["npt-central"]},
    "community_safety": {"email": "asb.officer@council.example.gov.uk", "email_verified": True},
}


@pytest.fixture(scope="module")
def real_store(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A store of (generated, but not marked synthetic) records: what a deployment holds."""
    url = str(tmp_path_factory.mktemp("signin") / "real.duckdb")
    ctx = seal_context(Settings.from_env({}, pseudonym_key=TEST_KEY))
    files = generate_demo(end=date(2026, 10, 31), scale=0.3)
    with open_store(url, storage_res=10) as store:
        for kind in ("incidents", "outreach", "asb"):
            data = io.BytesIO(getattr(files, kind))
            ingest_file(store, kind, data, ctx=ctx, source=f"{kind}.csv")
        make_releases(store, ReleaseRules.of(Settings.from_env({}), date(2026, 11, 23)))
    return url


@pytest.fixture
def deployment(
    real_store: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[dict[str, Any]]:
    """A copy of the real store (each test writes its own audit trail) and an access map."""
    url = str(tmp_path / "store.duckdb")
    shutil.copy(real_store, url)
    access = tmp_path / "access.toml"
    access.write_text(ACCESS)
    monkeypatch.setenv("STREETSAFE_STORE", url)
    monkeypatch.setenv("STREETSAFE_PSEUDONYM_KEY", TEST_KEY)
    monkeypatch.setenv("STREETSAFE_ACCESS", str(access))
    monkeypatch.delenv("STREETSAFE_DEMO", raising=False)
    st.cache_resource.clear()
    st.cache_data.clear()
    yield {"url": url, "access": access}
    st.cache_resource.clear()
    st.cache_data.clear()


def _run(
    *,
    user: dict[str, Any] | None = None,
    oidc: bool = True,
    params: dict[str, str] | None = None,
    page: str | None = None,
) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    if oidc:
        at.secrets = AUTH
    if user is not None:
        at.user = {"is_logged_in": True, "iat": time.time(), **user}
    for key, value in (params or {}).items():
        at.query_params[key] = value
    if page:
        at.switch_page(f"screens/{page}.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _entries(url: str, event: str | None = None) -> pd.DataFrame:
    with open_store(url, storage_res=10) as store:
        found = store.audit_entries(events=[event] if event else None)
    return found.assign(detail=found["detail"].map(json.loads))


def _pages(user: dict[str, Any]) -> list[str]:
    """The pages ``user`` opens (each address typed by hand: the menu holds the same)."""
    return [
        page
        for page, header in HEADERS.items()
        if header in [h.value for h in _run(user=user, page=page).header]
    ]


def _has_data(at: AppTest) -> bool:
    return bool(at.get("deck_gl_json_chart")) or bool(at.dataframe)


def test_a_real_store_without_sign_in_serves_instructions_and_no_data(
    deployment: dict[str, Any],
) -> None:
    at = _run(oidc=False)
    text = " ".join(m.value for m in at.markdown)
    assert any("no sign-in is configured" in w.value for w in at.warning)
    assert "streetsafe users add" in text
    assert not _has_data(at)
    assert not at.sidebar.selectbox  # no role chooser


def test_nobody_signed_in_gets_the_sign_in_page_only(deployment: dict[str, Any]) -> None:
    at = _run(params={"role": "outreach"}, page="night_map")
    assert [b.label for b in at.button] == ["Sign in with your organisation's account"]
    assert not _has_data(at)
    assert [h.value for h in at.subheader] == ["Sign in"]


@pytest.mark.parametrize("role", list(IDENTITIES))
def test_each_identity_gets_its_roles_pages_and_its_view_is_audited(
    deployment: dict[str, Any], role: str
) -> None:
    assert _pages(IDENTITIES[role]) == PAGES[role]
    at = _run(user=IDENTITIES[role])
    assert not at.sidebar.selectbox  # no role chooser when signed in
    caption = " ".join(c.value for c in at.sidebar.caption)
    assert f"Signed in as **{IDENTITIES[role]['email']}**" in caption
    assert load_policies()[role].title in caption
    assert at.sidebar.button(key="sign-out")
    assert "role" not in at.query_params  # the link never carries a signed-in role
    entries = _entries(deployment["url"])
    signed = entries[entries["event"] == audit.LOGIN_SUCCESS]  # once per session
    assert signed[["actor", "role"]].values.tolist() == [[IDENTITIES[role]["email"], role]] * (
        len(HEADERS) + 1
    )
    reads = entries[entries["event"] == audit.SENSITIVE_READ]
    assert reads["detail"].iloc[-1]["page"] == "night_map"
    assert reads["detail"].iloc[-1]["cells"] >= 0
    assert "layers" in reads["detail"].iloc[-1]["request"]


def test_a_link_asking_another_role_changes_nothing_and_is_audited(
    deployment: dict[str, Any],
) -> None:
    at = _run(user=IDENTITIES["police_npt"], params={"role": "outreach", "layers": "outreach"})
    assert "Night map" in [h.value for h in at.header]
    assert load_policies()["police_npt"].title in " ".join(c.value for c in at.sidebar.caption)
    assert "role" not in at.query_params
    deck = json.loads(at.get("deck_gl_json_chart")[0].proto.json)
    assert not [layer for layer in deck["layers"] if layer["id"] == "hex-outreach"]
    refused = _entries(deployment["url"], audit.AUTHZ_FAIL)
    assert refused["detail"].iloc[-1]["role_asked"] == "outreach"
    assert refused["actor"].iloc[-1] == "pc.jones@police.example.uk"


def test_an_unmapped_identity_sees_a_page_saying_so_and_nothing_else(
    deployment: dict[str, Any],
) -> None:
    at = _run(user={"email": "stranger@example.com"})
    assert any("gives you no role" in e.value for e in at.error)
    assert not _has_data(at)
    assert not at.header
    refused = _entries(deployment["url"], audit.AUTHZ_FAIL)
    assert refused["actor"].tolist() == ["stranger@example.com"]


@pytest.mark.parametrize(
    "email", ["asb.officer@council.example.gov.uk", "SAM@outreach.example.org"]
)
def test_an_email_the_provider_has_not_verified_gets_no_role(
    deployment: dict[str, Any], email: str
) -> None:
    at = _run(user={"email": email, "email_verified": False})
    assert any("gives you no role" in e.value for e in at.error)
    assert not at.header


def test_an_identity_is_audited_as_its_folded_email(deployment: dict[str, Any]) -> None:
    _run(user={"email": " Pc.Jones@Police.example.uk", "groups": ["npt-central"]})
    signed = _entries(deployment["url"], audit.LOGIN_SUCCESS)
    assert signed["actor"].tolist() == ["pc.jones@police.example.uk"]


def test_a_sign_in_older_than_a_night_shift_has_expired(deployment: dict[str, Any]) -> None:
    at = AppTest.from_file(APP, default_timeout=120)
    at.secrets = AUTH
    at.user = {"is_logged_in": True, "iat": time.time() - 13 * 3600, **IDENTITIES["outreach"]}
    at.run()
    assert any("has expired" in i.value for i in at.info)
    assert not _has_data(at)
    assert _entries(deployment["url"], audit.SESSION_EXPIRED)["actor"].tolist() == [
        "sam@outreach.example.org"
    ]


def test_the_admin_sees_the_audit_trail_and_no_data(deployment: dict[str, Any]) -> None:
    _run(user=IDENTITIES["police_npt"])  # something to read
    assert _pages({"email": "audit@council.example.gov.uk"}) == PAGES["admin"]
    at = _run(user={"email": "audit@council.example.gov.uk"})
    table = at.dataframe[0].value
    assert {"authn_login_success", "sensitive_read"} <= set(table["event"])
    assert not at.get("deck_gl_json_chart")
    next(b for b in at.button if b.label == "Check the chain").click().run()
    assert any("The chain is whole" in s.value for s in at.success)


def test_a_page_typed_by_hand_opens_the_roles_own_first_page(deployment: dict[str, Any]) -> None:
    at = _run(user=IDENTITIES["police_npt"], page="local_impact")
    assert [h.value for h in at.header] == ["Night map"]


# --- local accounts -------------------------------------------------------------------------


@pytest.fixture
def local_accounts(deployment: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """An outreach account; failed sign-ins answer at once (their delays are unit-tested)."""
    with open_store(deployment["url"], storage_res=10) as store:
        _add(store, "pat@outreach.example.org", "outreach", "Night van")
    return deployment


def _add(store: Store, email: str, role: str, agency: str) -> None:
    add_user(
        store,
        email,
        role=role,
        agency=agency,
        password=PASSWORD,
        roles=list(load_policies()),
        agency_of=lambda a: a,
    )


def _local_sign_in(email: str, password: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    at.text_input(key="signin-email").input(email)
    at.text_input(key="signin-password").input(password)
    at.button[0].click().run()
    return at


def test_a_local_account_signs_in_to_its_role(local_accounts: dict[str, Any]) -> None:
    at = _local_sign_in("Pat@Outreach.example.org ", PASSWORD)
    assert "Night map" in [h.value for h in at.header]
    assert "Night van" in " ".join(c.value for c in at.sidebar.caption)
    at.sidebar.button(key="sign-out").click().run()
    assert [h.value for h in at.subheader] == ["Sign in"]
    events = _entries(local_accounts["url"])["event"].tolist()
    assert events[-3:-1] == [audit.LOGIN_SUCCESS, audit.SENSITIVE_READ] or audit.LOGOUT in events
    assert events.count(audit.LOGOUT) == 1


def test_signing_out_forgets_everything_the_tab_held(local_accounts: dict[str, Any]) -> None:
    """The next person at a shared screen sees nothing of the last one's (their upload's
    rejected rows, say), and their own views are audited afresh."""
    at = _local_sign_in("pat@outreach.example.org", PASSWORD)
    at.session_state["last-summary"] = "rejected rows of the last person"
    at.toggle(key="dark").set_value(True).run()
    at.sidebar.button(key="sign-out").click().run()
    assert "last-summary" not in at.session_state
    assert at.session_state["dark"] is True  # the low-light switch stays
    assert [h.value for h in at.subheader] == ["Sign in"]


def test_a_disabled_account_is_signed_out_at_once(local_accounts: dict[str, Any]) -> None:
    at = _local_sign_in("pat@outreach.example.org", PASSWORD)
    assert "Night map" in [h.value for h in at.header]
    with open_store(local_accounts["url"], storage_res=10) as store:
        disable_user(store, "pat@outreach.example.org")
    at.run()
    assert not at.header
    assert [h.value for h in at.subheader] == ["Sign in"]
    ended = _entries(local_accounts["url"], audit.SESSION_EXPIRED)
    assert ended["detail"].iloc[-1]["reason"] == "account changed or disabled"


def test_a_wrong_password_gets_nowhere_and_is_audited(local_accounts: dict[str, Any]) -> None:
    for email in ("pat@outreach.example.org", "nobody@outreach.example.org"):
        at = _local_sign_in(email, "not the password at all")
        assert any("not recognised" in e.value for e in at.error)
        assert not at.header
    failed = _entries(local_accounts["url"], audit.LOGIN_FAIL)
    assert [d["reason"] for d in failed["detail"]] == ["wrong password", "no such account"]


# --- uploads --------------------------------------------------------------------------------

POLICE = Viewer("pc.jones@police.example.uk", "police_npt", "Police NPT", "oidc", 0)


def test_an_upload_of_a_layer_the_role_may_not_upload_is_refused_and_audited(
    deployment: dict[str, Any],
) -> None:
    AppTest.from_file(APP).run()  # the dashboard's store is open
    contact = b"occurred_at,category,agency,person_ref,place\n2026-10-01 23:00,welfare_check,,AB-1,"
    with pytest.raises(PolicyError, match="may not upload Outreach contact files"):
        ingest_upload(POLICE, "outreach", "contacts.csv", contact + b"Derby Road\n")
    with open_store(deployment["url"], storage_res=10) as store:
        before = store.record_count()
    refused = _entries(deployment["url"], audit.AUTHZ_FAIL)
    assert refused["detail"].iloc[-1]["kind"] == "outreach"
    assert "contacts.csv" not in refused["detail"].iloc[-1].values()  # never the file's name
    with open_store(deployment["url"], storage_res=10) as store:
        assert store.record_count() == before


def test_a_guessed_record_id_of_another_agency_tells_nothing(deployment: dict[str, Any]) -> None:
    """The incidents the outreach service holds, by id: as the police's rows they are new
    records (the police's own), and as rows naming the outreach service they are refused."""
    AppTest.from_file(APP).run()
    with open_store(deployment["url"], storage_res=10) as store:
        n = len(store.query("SELECT 1 FROM records WHERE layer = 'incident'"))
    files = generate_demo(end=date(2026, 10, 31), scale=0.3)  # the very rows stored
    rows = pd.read_csv(io.BytesIO(files.incidents), dtype=str, keep_default_na=False).head(10)
    assert (rows["record_id"] != "").all()
    as_outreach = rows.to_csv(index=False).encode()
    summary = ingest_upload(POLICE, "incidents", "guess.csv", as_outreach)
    assert summary.duplicates == 0
    assert (
        summary.rejected_by_reason.get("another agency", 0)
        == (rows["agency"] != "Police NPT").sum()
    )
    as_police = rows.assign(agency="").to_csv(index=False).encode()
    summary = ingest_upload(POLICE, "incidents", "guess.csv", as_police)
    # "already stored" counts the police's own records only: nothing about anyone else's
    own = int((rows["agency"] == "Police NPT").sum())
    assert (summary.duplicates, summary.accepted) == (own, 10 - own)
    refused = _entries(deployment["url"], audit.AUTHZ_FAIL)
    assert refused["detail"].iloc[-1]["asked"] == "records of another agency"
    uploads = _entries(deployment["url"], audit.UPLOAD_COMPLETE)
    assert uploads["detail"].iloc[-1]["accepted"] == 10 - own
    assert len(uploads["detail"].iloc[-1]["sha256"]) == 64
    with open_store(deployment["url"], storage_res=10) as store:
        after = len(store.query("SELECT 1 FROM records WHERE layer = 'incident'"))
    assert after == n + 10  # the first file's own rows, then the rest
