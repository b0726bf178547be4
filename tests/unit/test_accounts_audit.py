"""Local accounts (argon2id, slowed failures, lockout) and the audit trail's chain."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta

import pytest

from store import Store, open_store
from store._access import now_utc
from streetsafe import accounts, audit
from streetsafe.accounts import AccountError, add_user, sign_in

PASSWORD = "a long night shift 42"
ROLES = ("outreach", "police_npt", "community_safety")


@pytest.fixture
def store() -> Iterator[Store]:
    with open_store(":memory:", storage_res=10) as st:
        yield st


def _add(store: Store, email: str = "Pat@Outreach.example.org") -> None:
    add_user(
        store,
        email,
        role="outreach",
        agency="night van",
        password=PASSWORD,
        roles=ROLES,
        agency_of=lambda a: "Night van" if a == "night van" else None,
    )


def test_a_password_is_kept_only_as_its_argon2id_hash(store: Store) -> None:
    _add(store)
    user = store.user("pat@outreach.example.org")
    assert user is not None
    assert (user.role, user.agency) == ("outreach", "Night van")
    assert user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in user.password_hash
    assert all(PASSWORD not in str(v) for v in store.audit_entries().to_numpy().ravel())
    created = store.audit_entries(events=[audit.USER_CREATED])
    assert json.loads(created["detail"].iloc[0])["user"] == "pat@outreach.example.org"


@pytest.mark.parametrize(
    ("email", "password", "message"),
    [
        ("pat@outreach.example.org", "short", "at least 12"),
        ("pat@outreach.example.org", "pat@outreach.example.org!", "must not contain"),
        ("not an email", PASSWORD, "not an email"),
    ],
)
def test_a_weak_password_or_a_bad_email_is_refused(
    store: Store, email: str, password: str, message: str
) -> None:
    with pytest.raises(AccountError, match=message):
        add_user(
            store,
            email,
            role="outreach",
            agency="x",
            password=password,
            roles=ROLES,
            agency_of=lambda a: a,
        )
    assert not store.has_users()


def test_an_email_has_one_account(store: Store) -> None:
    _add(store)
    with pytest.raises(Exception, match="already an account"):
        _add(store, "pat@outreach.example.org ")


def test_failures_are_slowed_then_the_account_is_paused(store: Store) -> None:
    _add(store)
    waits: list[float] = []
    for _ in range(accounts.LOCK_AFTER):
        assert (
            sign_in(store, "pat@outreach.example.org", "wrong password!!", sleep=waits.append)
            is None
        )
    assert waits == sorted(waits)
    assert waits[-1] > waits[0]
    # paused: even the right password gets nowhere now
    assert sign_in(store, "pat@outreach.example.org", PASSWORD, sleep=waits.append) is None
    events = store.audit_entries()["event"].tolist()
    assert events.count(audit.LOGIN_LOCK) == 1
    assert json.loads(store.audit_entries()["detail"].iloc[-1])["reason"] == "locked"
    # after the pause, the right password works and clears the count
    store.update_user("pat@outreach.example.org", locked_until=now_utc() - timedelta(seconds=1))
    signed = sign_in(store, "pat@outreach.example.org", PASSWORD, sleep=waits.append)
    assert signed is not None
    assert signed.role == "outreach"
    user = store.user("pat@outreach.example.org")
    assert user is not None
    assert user.failed == 0


def test_an_unknown_email_and_a_disabled_account_answer_like_a_wrong_password(
    store: Store,
) -> None:
    _add(store)
    accounts.disable_user(store, "pat@outreach.example.org")
    waits: list[float] = []
    assert sign_in(store, "pat@outreach.example.org", PASSWORD, sleep=waits.append) is None
    assert sign_in(store, "who@outreach.example.org", PASSWORD, sleep=waits.append) is None
    reasons = [
        json.loads(d).get("reason")
        for d in store.audit_entries(events=[audit.LOGIN_FAIL])["detail"]
    ]
    assert reasons == ["account disabled", "no such account"]
    assert all(w > 0 for w in waits)


def test_an_unknown_email_is_slowed_like_a_known_one(store: Store) -> None:
    """Else the delay would say which emails have an account."""
    _add(store)
    known: list[float] = []
    unknown: list[float] = []
    for _ in range(accounts.LOCK_AFTER + 2):
        sign_in(store, "pat@outreach.example.org", "wrong password!!", sleep=known.append)
        sign_in(store, "nobody-yet@outreach.example.org", "wrong pass!!", sleep=unknown.append)
    assert known == unknown


def test_what_is_not_an_email_is_never_looked_up_or_written_down(store: Store) -> None:
    for typed in (
        "pat\x00@outreach.example.org",
        "x" * 300 + "@y.org",
        "two@at@y.org",
        "a b@c.org",
    ):
        assert sign_in(store, typed, PASSWORD, sleep=lambda s: None) is None
    entries = store.audit_entries()
    assert set(entries["actor"]) == {"(not an email)"}
    assert {json.loads(d)["reason"] for d in entries["detail"]} == {"not an email"}


def test_a_new_password_unpauses_the_account(store: Store) -> None:
    _add(store)
    store.update_user(
        "pat@outreach.example.org", failed=9, locked_until=now_utc() + timedelta(hours=1)
    )
    accounts.set_password(store, "pat@outreach.example.org", "another long password")
    assert sign_in(store, "pat@outreach.example.org", "another long password", sleep=lambda s: None)


# --- the audit trail ------------------------------------------------------------------------


def _trail(store: Store, n: int = 5) -> None:
    for i in range(n):
        audit.record(store, audit.SENSITIVE_READ, audit.Actor(f"p{i}@x.org", "outreach"), cells=i)


def test_an_untouched_trail_verifies(store: Store) -> None:
    _trail(store)
    found = audit.verify(store)
    assert found.ok
    assert found.entries == 5
    assert audit.verify(store, head=found.head).ok


def test_an_edited_entry_is_found(store: Store) -> None:
    _trail(store)
    store._execute("UPDATE audit SET detail = '{\"cells\": 0}' WHERE seq = 3")
    found = audit.verify(store)
    assert found.problems == ["entry 3: changed since it was written"]


def test_a_deleted_entry_is_found(store: Store) -> None:
    _trail(store)
    store._execute("DELETE FROM audit WHERE seq = 2")
    found = audit.verify(store)
    assert "entry 2 to 2 missing (deleted)" in found.problems
    assert "entry 3: does not follow the entry before it" in found.problems


def test_deleting_the_newest_entries_is_found_against_a_noted_head(store: Store) -> None:
    _trail(store)
    head = audit.verify(store).head
    store._execute("DELETE FROM audit WHERE seq = 5")
    assert audit.verify(store).ok  # the chain alone cannot tell
    found = audit.verify(store, head=head)
    assert found.problems == [
        f"the entry with hash {head} is gone: the newest entries were deleted"
    ]


def test_a_rewritten_chain_still_differs_from_the_noted_head(store: Store) -> None:
    """Editing an entry and recomputing every hash after it makes a whole chain again, but
    not the one whose head was noted."""
    _trail(store)
    head = audit.verify(store).head
    rows = store.audit_entries()
    store._execute("DELETE FROM audit")
    for r in rows.to_dict("records"):
        detail = json.loads(str(r["detail"]))
        who = audit.Actor(str(r["actor"]), str(r["role"]))
        audit.record(store, str(r["event"]), who, cells=detail["cells"] + 1)
    assert not audit.verify(store, head=head).ok


def test_the_export_has_every_entry_and_never_a_password(store: Store) -> None:
    _add(store)
    _trail(store, 2)
    text = audit.export(store, fmt="json")
    lines = [json.loads(line) for line in text.splitlines()]
    assert [line["event"] for line in lines] == [audit.USER_CREATED, *[audit.SENSITIVE_READ] * 2]
    csv_text = audit.export(store, actor="p1@x.org")
    assert csv_text.splitlines()[0].startswith("seq,logged_at_utc,event,actor")
    assert len(csv_text.splitlines()) == 2
    assert PASSWORD not in text + csv_text
