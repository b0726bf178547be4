"""Who may sign in as what: the deployment's access map, from identity to role and agency.

A signed-in identity gets its role and agency here and nowhere else (never from a link or a
widget). The map is a TOML file (``STREETSAFE_ACCESS``) of grants, each naming one of an
identity's email, group (a value of the ID token's ``groups`` claim) or email domain::

    [[grant]]
    email = "sam.k@outreach.example.org"
    role = "outreach"
    agency = "Outreach team"

    [[grant]]
    group = "npt-southampton-central"
    role = "police_npt"
    agency = "Police NPT"

    [[grant]]
    domain = "council.example.gov.uk"
    role = "community_safety"
    agency = "Community safety"

The most specific grant wins: an email's over a group's over a domain's. Two grants of the same
kind matching one identity with different roles or agencies are refused (an identity is never
given the more privileged of two by chance). An email or domain grant needs an email the
provider has not said is unverified (an ID token saying ``email_verified = false`` gets
none). ``role = "admin"`` opens the Audit page only.
"""

from __future__ import annotations

import hashlib
import tomllib
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from geo.errors import ConfigError, StreetsafeError

ADMIN = "admin"  # the role that reads the audit trail, and sees no data
_KINDS = ("email", "group", "domain")  # most specific first


class AccessError(StreetsafeError, PermissionError):
    """An identity has no role here, or more than one."""


@dataclass(frozen=True)
class Grant:
    """A role and agency, and what in the identity it was given for."""

    role: str
    agency: str
    kind: str = "email"  # email, group or domain
    value: str = ""


@dataclass(frozen=True)
class AccessMap:
    """The deployment's grants, checked against its roles and agencies."""

    grants: tuple[Grant, ...]
    digest: str = ""  # SHA-256 of the file, for the audit trail's record of changes

    @classmethod
    def load(
        cls,
        path: Path,
        *,
        roles: Collection[str],
        agency_of: Callable[[str], str | None] | None = None,
    ) -> AccessMap:
        """Read and check the map at ``path``: every role one of ``roles`` (or ``admin``),
        every agency one the deployment knows (``agency_of``: a spelling's agency, or None;
        see :meth:`ingest.agencies.Agencies.canonical`), each grant naming exactly one of
        email, group or domain."""
        try:
            raw_bytes = path.read_bytes()
        except OSError as exc:
            raise ConfigError(f"cannot read the access map {path}: {exc.strerror}") from None
        try:
            data = tomllib.loads(raw_bytes.decode("utf-8"))
        except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"access map {path} is not valid TOML: {exc}") from None
        unknown = set(data) - {"grant"}
        if unknown:
            raise ConfigError(
                f"access map {path}: unknown table {sorted(unknown)[0]!r}; "
                "write each grant as [[grant]]"
            )
        grants = data.get("grant", [])
        if not isinstance(grants, list):
            raise ConfigError(f"access map {path}: write each grant as [[grant]]")
        out = [
            _grant(entry, f"{path}, grant {n}", roles, agency_of)
            for n, entry in enumerate(grants, start=1)
        ]
        return cls(tuple(out), hashlib.sha256(raw_bytes).hexdigest())

    def resolve(
        self, email: str, *, groups: Sequence[str] = (), email_verified: bool | None = None
    ) -> Grant | None:
        """Return the grant for an identity, or None if it has none.

        Raises :class:`AccessError` if two grants of the most specific kind that matches give
        different roles or agencies.
        """
        email = fold_email(email)
        domain = email.rpartition("@")[2]
        # an email the provider says it has not verified names nobody (some providers let a
        # person type any address); a provider that says nothing is taken at its word
        trusted = email_verified is not False
        wanted = {
            "email": {email} if trusted else set(),
            "group": {g.strip().casefold() for g in groups},
            "domain": {domain} if domain and trusted else set(),
        }
        for kind in _KINDS:
            found = {
                (g.role, g.agency): g
                for g in self.grants
                if g.kind == kind and g.value in wanted[kind]
            }
            if len(found) > 1:
                given = ", ".join(f"{g.role} ({g.agency}) by {g.value}" for g in found.values())
                raise AccessError(
                    f"{email} matches grants of more than one role or agency ({given}); "
                    "the access map must give an identity one"
                )
            if found:
                return next(iter(found.values()))
        return None


MAX_EMAIL = 254  # RFC 5321's limit on a path


def fold_email(email: str) -> str:
    """Return an email as accounts and grants are keyed: trimmed, case folded."""
    return email.strip().casefold()


def plausible_email(email: str) -> bool:
    """Whether ``email`` (folded) could be an address: one @, no spaces or control
    characters, not too long. Anything else is never looked up, stored or written to the
    audit trail as typed."""
    local, at, domain = email.partition("@")
    return (
        bool(local and at and domain)
        and len(email) <= MAX_EMAIL
        and "@" not in domain
        and email.isprintable()
        and not any(c.isspace() for c in email)
    )


def _grant(
    entry: Any,
    where: str,
    roles: Collection[str],
    agency_of: Callable[[str], str | None] | None,
) -> Grant:
    if not isinstance(entry, dict):
        raise ConfigError(f"{where}: write each grant as a [[grant]] table")
    allowed = {*_KINDS, "role", "agency"}
    extra = set(entry) - allowed
    if extra:
        raise ConfigError(
            f"{where}: unknown key {sorted(extra)[0]!r}; keys are {', '.join(sorted(allowed))}"
        )
    kinds = [k for k in _KINDS if k in entry]
    if len(kinds) != 1:
        raise ConfigError(f"{where}: name exactly one of email, group or domain")
    kind = kinds[0]
    value = entry[kind]
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{where}: {kind} must be a non-empty string")
    value = value.strip().casefold().removeprefix("@")
    if kind == "email" and "@" not in value:
        raise ConfigError(f"{where}: email {value!r} has no @")
    role, agency = check_role_agency(
        entry.get("role"), entry.get("agency", ""), roles=roles, agency_of=agency_of, where=where
    )
    return Grant(role=role, agency=agency, kind=kind, value=value)


def check_role_agency(
    role: Any,
    agency: Any,
    *,
    roles: Collection[str],
    agency_of: Callable[[str], str | None] | None,
    where: str = "",
) -> tuple[str, str]:
    """Return (role, agency's name) for a grant or a local account, or refuse them saying
    ``where``: the role one of ``roles`` or ``admin``; the agency one the deployment knows
    (``agency_of``), needed by every role but ``admin``."""
    at = f"{where}: " if where else ""
    if role not in {*roles, ADMIN}:
        known = ", ".join([*roles, ADMIN])
        raise ConfigError(f"{at}role {role!r} is not a role here (roles: {known})")
    if not isinstance(agency, str):
        raise ConfigError(f"{at}agency must be a string")
    if not agency.strip():
        if role == ADMIN:
            return ADMIN, ""
        raise ConfigError(f"{at}the {role} role needs the agency the person works for")
    canonical = agency if agency_of is None else agency_of(agency)
    if canonical is None:
        raise ConfigError(
            f"{at}agency {agency!r} is not in the agencies file (STREETSAFE_AGENCIES)"
        )
    return str(role), canonical.strip()
