"""A view request as people type it (CLI options, shareable link parameters) and its checks."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime

from geo.aggregate import CubeFilter
from geo.errors import FilterError, PolicyError
from geo.layers import CATEGORY_GROUPS
from geo.nights import WEEKDAYS, HourRange, parse_hour_range, parse_weekdays
from geo.privacy import RolePolicy
from ingest.kinds import KIND_BY_LAYER, KINDS

_LAYER_ALIASES = {
    **{k.name: k.layer for k in KINDS.values()},
    **{layer: layer for layer in KIND_BY_LAYER},
}


@dataclass(frozen=True)
class ViewRequest:
    """Everything that selects a view, already checked against the role's policy."""

    role: str
    res: int
    layers: tuple[str, ...]
    hours: HourRange | None = None
    weekdays: tuple[int, ...] | None = None
    date_from: date | None = None
    date_to: date | None = None
    categories: tuple[str, ...] | None = None

    def cube_filter(self) -> CubeFilter:
        """Return the store filter of this request."""
        return CubeFilter(
            layers=self.layers,
            categories=self.categories,
            hours=self.hours,
            weekdays=self.weekdays,
            date_from=self.date_from,
            date_to=self.date_to,
        )

    def query_params(self) -> dict[str, str]:
        """Return the request as link parameters (only what differs from the defaults)."""
        out = {"role": self.role, "res": str(self.res), "layers": ",".join(self.layers)}
        if self.hours is not None:
            out["hours"] = str(self.hours)
        if self.weekdays is not None:
            out["weekdays"] = ",".join(WEEKDAYS[d] for d in self.weekdays)
        if self.date_from is not None:
            out["from"] = self.date_from.isoformat()
        if self.date_to is not None:
            out["to"] = self.date_to.isoformat()
        if self.categories is not None:
            out["categories"] = ",".join(self.categories)
        return out


@dataclass(frozen=True)
class ReleaseRequest:
    """A partner's view, already checked: whole months, layers and category groups.

    Roles without case knowledge see monthly releases (:mod:`streetsafe.releases`), so these
    are all they may choose; the night bands and groups of nights come as figures of their own.
    """

    role: str
    res: int
    layers: tuple[str, ...]
    first: date | None = None  # the first month (its first day); None: the latest released
    last: date | None = None  # the last month (its first day)
    groups: tuple[str, ...] | None = None  # category groups; None: every group

    def query_params(self) -> dict[str, str]:
        """Return the request as link parameters (only what differs from the defaults)."""
        out = {"role": self.role, "res": str(self.res), "layers": ",".join(self.layers)}
        if self.first is not None:
            out["from"] = f"{self.first:%Y-%m}"
        if self.last is not None:
            out["to"] = f"{self.last:%Y-%m}"
        if self.groups is not None:
            out["categories"] = ",".join(self.groups)
        return out


def parse_request(
    policies: Mapping[str, RolePolicy],
    *,
    role: str,
    res: int | str | None = None,
    layers: str | None = None,
    hours: str | None = None,
    weekdays: str | None = None,
    date_from: str | None = None,
    date_to: str | None = None,
    categories: str | None = None,
) -> ViewRequest | ReleaseRequest:
    """Check typed-in filters against ``role``'s policy; raise a clear error for any bad one.

    A role with case knowledge gets a :class:`ViewRequest` (any hours, nights, dates and
    categories); any other a :class:`ReleaseRequest`, and a filter finer than its releases
    is refused with what it may ask instead.
    """
    policy = policies.get(role)
    if policy is None:
        raise PolicyError(f"unknown role {role!r}; roles are: {', '.join(policies)}")
    resolution = policy.finest_res if res in (None, "") else _int(res, "resolution")
    policy.check_res(resolution)
    if resolution < 6:
        raise FilterError(f"resolution must be 6 or finer, got {resolution}")
    chosen = _layers(layers, policy) if layers else policy.layers
    if not policy.case_knowledge:
        _refuse_finer(policy, hours=hours, weekdays=weekdays)
        first = _month(date_from, "from") if date_from else None
        last = _month(date_to, "to") if date_to else None
        if first and last and first > last:
            raise FilterError(f"the months end ({last:%Y-%m}) before they start ({first:%Y-%m})")
        return ReleaseRequest(
            role=role,
            res=resolution,
            layers=chosen,
            first=first,
            last=last,
            groups=_groups(categories, chosen) if categories else None,
        )
    hour_range = parse_hour_range(hours) if hours else None
    return ViewRequest(
        role=role,
        res=resolution,
        layers=chosen,
        hours=None if hour_range is not None and hour_range.whole_day else hour_range,
        weekdays=parse_weekdays(weekdays) if weekdays else None,
        date_from=_date(date_from, "from") if date_from else None,
        date_to=_date(date_to, "to") if date_to else None,
        categories=_categories(categories, chosen) if categories else None,
    )


def _refuse_finer(policy: RolePolicy, *, hours: str | None, weekdays: str | None) -> None:
    """Refuse hours and nights of the week for a role that sees releases, saying what instead."""
    some_hours = bool(hours) and not parse_hour_range(hours or "").whole_day
    if some_hours or weekdays:
        asked = "hours" if some_hours else "nights of the week"
        raise PolicyError(
            f"role {policy.name!r} sees monthly releases, not {asked}: ask whole months "
            "(--from/--to YYYY-MM), layers and category groups; the night bands (evening, "
            "late, small hours, day) and groups of nights (weeknights, weekend) are figures "
            "of their own, on the Trends page"
        )


def _month(text: str, what: str) -> date:
    """Parse ``YYYY-MM`` (a whole month) into its first day."""
    try:
        return datetime.strptime(text.strip(), "%Y-%m").date()
    except ValueError:
        raise PolicyError(
            f"--{what} {text!r}: this role sees whole months, written YYYY-MM (e.g. 2026-10)"
        ) from None


def _groups(text: str, layers: tuple[str, ...]) -> tuple[str, ...]:
    """Parse category groups of ``layers`` (codes of CATEGORY_GROUPS), refusing categories."""
    known = {g.lower(): g for layer in layers for g in CATEGORY_GROUPS[layer]}
    out = []
    for name in (p.strip() for p in text.split(",") if p.strip()):
        group = known.get(name.lower())
        if group is None:
            raise PolicyError(_not_a_group(name, layers, known))
        out.append(group)
    return tuple(dict.fromkeys(out))


def _not_a_group(name: str, layers: tuple[str, ...], known: dict[str, str]) -> str:
    for layer in layers:
        for group, (label, members) in CATEGORY_GROUPS[layer].items():
            if name.lower() in members:
                return (
                    f"{name!r} is published within the category group {group!r} ({label}): "
                    f"ask --categories {group}"
                )
    return (
        f"unknown category group {name!r} for layers {', '.join(layers)}; "
        f"groups are: {', '.join(sorted(known.values()))}"
    )


def _int(value: int | str, what: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise FilterError(f"{what} must be a whole number, got {value!r}") from None


def _date(text: str, what: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise FilterError(f"--{what} date {text!r} is not YYYY-MM-DD") from None


def _layers(text: str, policy: RolePolicy) -> tuple[str, ...]:
    out = []
    for name in (p.strip().lower() for p in text.split(",") if p.strip()):
        layer = _LAYER_ALIASES.get(name)
        if layer is None:
            raise FilterError(f"unknown layer {name!r}; layers are: {', '.join(KIND_BY_LAYER)}")
        out.append(layer)
    policy.check_layers(tuple(out))
    return tuple(dict.fromkeys(out))


def _categories(text: str, layers: tuple[str, ...]) -> tuple[str, ...]:
    known = {c.lower(): c for layer in layers for c in KIND_BY_LAYER[layer].categories}
    out = []
    for name in (p.strip() for p in text.split(",") if p.strip()):
        code = known.get(name.lower())
        if code is None:
            raise FilterError(
                f"unknown category {name!r} for layers {', '.join(layers)}; "
                f"categories are: {', '.join(sorted(known.values()))}"
            )
        out.append(code)
    return tuple(dict.fromkeys(out))
