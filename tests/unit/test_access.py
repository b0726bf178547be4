"""The access map: identity to role and agency, most specific grant first, never ambiguous."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as hs

from geo.errors import ConfigError
from ingest.agencies import Agencies
from streetsafe.access import AccessError, AccessMap
from streetsafe.resources import data_file

ROLES = ("outreach", "police_npt", "community_safety")
MAP = """
[[grant]]
email = "Sam@Outreach.example.org"
role = "outreach"
agency = "outreach"

[[grant]]
group = "NPT-Central"
role = "police_npt"
agency = "Police NPT"

[[grant]]
domain = "@council.example.gov.uk"
role = "community_safety"
agency = "ASB team"

[[grant]]
email = "chief@council.example.gov.uk"
role = "admin"
"""


def _load(tmp_path: Path, text: str) -> AccessMap:
    path = tmp_path / "access.toml"
    path.write_text(text)
    agencies = Agencies.load(data_file("agencies.csv"))
    return AccessMap.load(path, roles=ROLES, agency_of=agencies.canonical)


def test_the_most_specific_grant_wins(tmp_path: Path) -> None:
    access = _load(tmp_path, MAP)
    sam = access.resolve(" sam@OUTREACH.example.org")
    assert sam is not None
    assert (sam.role, sam.agency, sam.kind) == ("outreach", "Outreach team", "email")
    police = access.resolve("pc@force.example.uk", groups=["npt-central"])
    assert police is not None
    assert (police.role, police.agency) == ("police_npt", "Police NPT")
    council = access.resolve("jo@council.example.gov.uk", email_verified=True)
    assert council is not None
    assert (council.role, council.agency) == ("community_safety", "Community safety")
    chief = access.resolve("chief@council.example.gov.uk")  # email over the domain
    assert chief is not None
    assert chief.role == "admin"
    assert access.resolve("jo@council.example.gov.uk", email_verified=False) is None
    # an unverified email names nobody, even where a grant names it alone
    assert access.resolve("sam@outreach.example.org", email_verified=False) is None
    assert access.resolve("someone@elsewhere.example") is None


def test_two_grants_of_one_kind_for_one_identity_are_refused(tmp_path: Path) -> None:
    access = _load(
        tmp_path,
        MAP + '\n[[grant]]\ngroup = "outreach-leads"\nrole = "outreach"\nagency = "Night van"\n',
    )
    with pytest.raises(AccessError, match="more than one role or agency"):
        access.resolve("pc@force.example.uk", groups=["npt-central", "outreach-leads"])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[[grant]]\nemail = "a@b.org"\nrole = "mayor"\nagency = "Housing"\n', "role 'mayor'"),
        ('[[grant]]\nemail = "a@b.org"\nrole = "outreach"\nagency = "Ghosts"\n', "'Ghosts' is not"),
        ('[[grant]]\nemail = "a@b.org"\nrole = "outreach"\n', "needs the agency"),
        ('[[grant]]\nrole = "outreach"\nagency = "Housing"\n', "exactly one of email"),
        ('[[grant]]\nemail = "ab.org"\nrole = "outreach"\nagency = "Housing"\n', "has no @"),
        ('[[grant]]\nemail = "a@b.org"\nrole = "outreach"\nagency = "Housing"\nk = 1\n', "'k'"),
        ("[grant]\nemail = 3\n", "write each grant as"),
        ("[[grant]\n", "not valid TOML"),
    ],
)
def test_a_bad_access_map_is_refused_saying_where(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        _load(tmp_path, text)


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> AccessMap:
    return _load(tmp_path_factory.mktemp("access"), MAP)


@given(
    email=hs.emails(),
    groups=hs.lists(hs.sampled_from(["npt-central", "other", "NPT-CENTRAL"]), max_size=3),
    verified=hs.sampled_from([True, False, None]),
)
def test_an_identity_gets_the_grant_its_claims_name_or_none(
    example: AccessMap, email: str, groups: list[str], verified: bool | None
) -> None:
    grant = example.resolve(email, groups=groups, email_verified=verified)
    folded = email.strip().casefold()
    by_email = verified is not False and folded in {
        "sam@outreach.example.org",
        "chief@council.example.gov.uk",
    }
    by_group = any(g.casefold() == "npt-central" for g in groups)
    domain = folded.rpartition("@")[2] == "council.example.gov.uk"
    by_domain = domain and verified is not False
    expected = "email" if by_email else "group" if by_group else "domain" if by_domain else None
    assert (grant.kind if grant else None) == expected
