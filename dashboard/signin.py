"""Who is looking: sign-in through the identity provider or a local account, or demo mode.

The role and agency of a signed-in person come from their identity (the access map, or their
local account), never from a link or a widget. Demo mode (a role chooser) exists only on a demo
store (synthetic records alone, no sign-in configured) or when the dashboard was started with
``--demo``; it opens on the least privileged role and says "demo" on every page. A store with
real records and no sign-in configured serves the instructions to configure it, and no data.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from typing import Any, NoReturn

import streamlit as st

from dashboard.state import VIEWER_KEY, Viewer, deployment, store
from geo.errors import StreetsafeError
from geo.privacy import RolePolicy
from streetsafe import accounts, audit
from streetsafe.access import ADMIN, AccessError, fold_email, plausible_email
from streetsafe.messages import user_message

DEMO_ENV = "STREETSAFE_DEMO"  # set by `streetsafe dashboard --demo`
ROLE_KEY = "role"  # the demo chooser's widget
_LOCAL = "_streetsafe_local"
_LOGGED = "_streetsafe_logged"  # one-off audit entries already written in this session
AUTH_COOKIE = "_streamlit_user"  # Streamlit's signed identity cookie


def least_privileged(policies: Mapping[str, RolePolicy]) -> str:
    """Return the role that sees least: no case knowledge, the largest k and rounding, the
    fewest layers (demo mode opens on it)."""
    return min(
        policies,
        key=lambda r: (
            policies[r].case_knowledge,
            -policies[r].k,
            -policies[r].round_to,
            len(policies[r].layers),
        ),
    )


def oidc_configured() -> bool:
    """Return whether the secrets hold an ``[auth]`` section (an identity provider)."""
    try:
        return "auth" in st.secrets
    except (FileNotFoundError, StreetsafeError):
        return False
    except Exception:
        return False


def demo_mode() -> bool:
    """Return whether the dashboard runs as a demo (role chooser, no sign-in)."""
    if os.environ.get(DEMO_ENV) == "1":
        return True
    if oidc_configured():
        return False
    with store() as st_:
        return not st_.has_users() and not st_.has_real_records()


def gate() -> Viewer:
    """Return who is looking, drawing the sign-in page (and stopping) if nobody is signed in."""
    policies = deployment().policies
    found = _demo_viewer(policies) if demo_mode() else _signed_in(policies)
    st.session_state[VIEWER_KEY] = found
    _refuse_role_links(found)
    return found


def once(key: str, event: str, actor: audit.Actor, **detail: Any) -> None:
    """Write an audit entry, once per session for ``key``."""
    logged: set[str] = st.session_state.setdefault(_LOGGED, set())
    if key in logged:
        return
    logged.add(key)
    with store() as st_:
        audit.record(st_, event, actor, **detail)


def _refuse_role_links(found: Viewer) -> None:
    """A link's ``?role=`` never changes a signed-in role: it is dropped, and audited if it
    asked for another role."""
    asked = st.query_params.get("role")
    if found.demo:
        if asked != found.role:
            st.query_params["role"] = found.role
        return
    if asked is None:
        return
    del st.query_params["role"]
    if asked != found.role:
        named = asked if asked in deployment().policies else "(not a role)"
        once(
            f"role-link:{named}",
            audit.AUTHZ_FAIL,
            found.actor,
            asked="role from a link",
            role_asked=named,
        )
        st.toast("The link asked for another role; your role comes from your sign-in.")


# --- demo mode ------------------------------------------------------------------------------


def _demo_viewer(policies: Mapping[str, RolePolicy]) -> Viewer:
    names = list(policies)
    start = least_privileged(policies)
    asked = st.session_state.get(ROLE_KEY) or st.query_params.get("role")
    if asked in names:
        start = asked
    with st.sidebar:
        role = st.selectbox(
            "Role (demo)",
            names,
            index=names.index(start),
            key=ROLE_KEY,
            format_func=lambda name: policies[name].title,
            help="Demo mode: there is no sign-in on demo data; choose the role to view as.",
        )
    return Viewer("demo", role, "demo", "demo", time.time())


# --- signed in ------------------------------------------------------------------------------


def _expired(since: float) -> bool:
    return time.time() - since > deployment().settings.session_hours * 3600


def _signed_in(policies: Mapping[str, RolePolicy]) -> Viewer:
    local = st.session_state.get(_LOCAL)
    if isinstance(local, Viewer):
        with store() as st_:
            account = st_.user(local.email)
        changed = account is None or accounts.account_stamp(account) != local.stamp
        if not changed and not _expired(local.since):
            return local
        forget_session()
        with store() as st_:
            reason = "account changed or disabled" if changed else "time"
            audit.record(st_, audit.SESSION_EXPIRED, local.actor, via="local", reason=reason)
    if oidc_configured() and bool(st.user.get("is_logged_in")):
        return _oidc_viewer(policies)
    if st.context.cookies.get(AUTH_COOKIE) is not None and oidc_configured():
        # a cookie the server could not verify: tampered with, or signed with an old secret
        once(
            "bad-cookie",
            audit.LOGIN_FAIL,
            audit.ANONYMOUS,
            via="oidc",
            reason="session cookie not valid (tampered or signed with another secret)",
        )
    return _sign_in_page()


def _oidc_viewer(policies: Mapping[str, RolePolicy]) -> Viewer:
    claims = st.user.to_dict()
    email = fold_email(str(claims.get("email") or ""))
    if not plausible_email(email):
        email = ""  # nothing unchecked reaches the audit trail
    issued = _number(claims.get("iat")) or st.session_state.setdefault("_oidc_since", time.time())
    if _expired(issued):
        who = audit.Actor(email or "unknown")
        once("expired", audit.SESSION_EXPIRED, who, via="oidc")
        st.info("Your sign-in has expired (it lasts one night shift). Sign in again.")
        st.button("Sign in again", on_click=st.logout, type="primary")
        st.stop()
    groups = claims.get("groups") or ()
    try:
        grant = (
            deployment().access.resolve(
                email,
                groups=[str(g) for g in groups] if isinstance(groups, list) else [str(groups)],
                email_verified=_flag(claims.get("email_verified")),
            )
            if email
            else None
        )
    except AccessError as exc:
        _no_role(email, user_message(exc))
    if grant is None or (grant.role not in policies and grant.role != ADMIN):
        _no_role(email, "the deployment's access map gives this identity no role")
    found = Viewer(email, grant.role, grant.agency, "oidc", issued)
    once("signed-in", audit.LOGIN_SUCCESS, found.actor, via="oidc", by=grant.kind)
    return found


def _flag(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    return {"true": True, "false": False}.get(str(value).lower()) if value is not None else None


def _number(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _no_role(email: str, why: str) -> NoReturn:
    once("no-role", audit.AUTHZ_FAIL, audit.Actor(email or "unknown"), asked="sign-in", why=why)
    st.title("streetsafe")
    st.error(
        f"You are signed in as **{email or 'an identity without an email'}**, but this "
        "deployment gives you no role, so there is nothing to show. Ask the person who runs "
        "streetsafe for your organisation to add you to its access map."
    )
    st.caption(why)
    sign_out_button()
    st.stop()


def _sign_in_page() -> NoReturn:
    st.title("streetsafe")
    st.subheader("Sign in")
    st.caption(
        "The night-time street-safety map for outreach, police neighbourhood and community "
        "safety teams. What you see depends on your role, which comes from your sign-in."
    )
    oidc = oidc_configured()
    with store() as st_:
        local = st_.has_users()
    if not oidc and not local:
        _setup_page()
    if oidc:
        for label, provider in _providers():
            st.button(
                label,
                on_click=st.login,
                args=(provider,) if provider else (),
                type="primary",
                key=f"login-{provider or 'default'}",
            )
    if local:
        _local_form(with_heading=oidc)
    st.stop()


def _providers() -> list[tuple[str, str | None]]:
    """Return (button label, provider) for each identity provider in the secrets."""
    section = st.secrets["auth"]
    if "client_id" in section or "server_metadata_url" in section:
        return [("Sign in with your organisation's account", None)]
    named = [name for name, value in section.items() if isinstance(value, Mapping)]
    return [(f"Sign in with {name.title()}", name) for name in named] or [
        ("Sign in with your organisation's account", None)
    ]


def _local_form(*, with_heading: bool) -> None:
    if with_heading:
        st.caption("Or with a streetsafe account:")
    with st.form("local-sign-in"):
        email = st.text_input("Email", key="signin-email")
        password = st.text_input("Password", type="password", key="signin-password")
        submitted = st.form_submit_button("Sign in", type="primary")
    if not submitted:
        return
    delays: list[float] = []
    try:  # the store is held only to read and write, never while the hash is checked
        signed = accounts.sign_in(store, email, password, sleep=delays.append)
    except StreetsafeError:
        st.error("Signing in failed on our side; try again, or tell the person who runs it.")
        return
    time.sleep(sum(delays))  # outside the store's lock: other people's pages go on meanwhile
    if signed is None:
        st.error(
            "Email or password not recognised, or the account is off or paused after repeated "
            "failures. Ask the person who runs streetsafe if you cannot sign in."
        )
        return
    forget_session()
    st.session_state[_LOCAL] = Viewer(
        signed.email, signed.role, signed.agency, "local", time.time(), signed.stamp
    )
    st.rerun()


def _setup_page() -> NoReturn:
    st.warning(
        "This store holds real reports, and no sign-in is configured, so the dashboard shows "
        "nothing. Configure one of:",
        icon="🔒",
    )
    st.markdown(
        """
- **Your organisation's identity provider** (Microsoft Entra ID, Google, any OpenID
  Connect provider): put an `[auth]` section in the secrets file (`STREETSAFE_SECRETS`, or
  `.streamlit/secrets.toml`) and map identities to roles in the access map
  (`STREETSAFE_ACCESS`).
- **Local accounts**: `streetsafe users add EMAIL --role ROLE --agency AGENCY`.

The README's "Sign-in" section shows both. To look at demo data instead, run
`streetsafe demo --store demo.duckdb` and `streetsafe dashboard --store demo.duckdb`.
"""
    )
    st.stop()


def forget_session() -> None:
    """Drop everything this browser tab held for the person signed in (their upload summary,
    the views already audited, their filters), keeping only the low-light switch: the next
    person at the same screen starts afresh."""
    for key in list(st.session_state):
        if key != "dark":
            del st.session_state[key]


def sign_out_button() -> None:
    """Draw the one-click sign-out (in the sidebar)."""
    found = st.session_state.get(VIEWER_KEY)
    if st.sidebar.button("Sign out", key="sign-out", icon=":material/logout:"):
        if isinstance(found, Viewer):
            with store() as st_:
                audit.record(st_, audit.LOGOUT, found.actor, via=found.via)
        forget_session()
        if oidc_configured() and bool(st.user.get("is_logged_in")):
            # st.logout() queues the browser's redirect to the provider's sign-out; a rerun
            # here could start before it is sent and drop it, leaving the sign-in cookie in
            # the browser (a reload would sign the person in again): end the run instead
            st.logout()
            st.stop()
        st.rerun()
