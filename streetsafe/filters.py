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


# --- one set of filters across pages and roles -------------------------------------------------

LINK_KEYS = ("res", "layers", "hours", "weekdays", "from", "to", "categories")


def fit_to_role(
    policies: Mapping[str, RolePolicy], role: str, params: Mapping[str, str]
) -> tuple[dict[str, str], list[str]]:
    """Return link parameters ``params`` made fit for ``role``, and one short note per change.

    Filters are one state across pages; after a switch of role (demo mode) or from a link made
    for another role, what the role may not ask is made coarser or left out, quietly, instead
    of refusing the whole view: a finer hexagon size becomes the role's finest, layers it may
    not see are dropped, live filters (hours, nights, days, categories) become whole months and
    category groups for a role that sees releases, and whole months become days for a role
    with case knowledge.
    """
    policy = policies.get(role)
    if policy is None:
        raise PolicyError(f"unknown role {role!r}; roles are: {', '.join(policies)}")
    out = {k: v for k, v in params.items() if k in LINK_KEYS and v}
    notes: list[str] = []
    res = out.get("res", "")
    if res.isdigit() and int(res) > policy.finest_res:
        notes.append(f"Hexagon size set to resolution {policy.finest_res}, your role's finest.")
        out["res"] = str(policy.finest_res)
    layers = _fit_layers(out, policy, notes)
    if policy.case_knowledge:
        for key, last in (("from", False), ("to", True)):
            if len(out.get(key, "")) == 7:  # a whole month, from a partner's view
                out[key] = _month_end(out[key]) if last else f"{out[key]}-01"
        known = {c for layer in layers for c in KIND_BY_LAYER[layer].categories}
    else:
        some_hours = out.get("hours", "00-24") not in ("00-24", "0-24")
        if some_hours or "weekdays" in out:
            notes.append(
                "Your role sees whole months: hours and nights of the week are figures of their "
                "own, on the Trends page."
            )
        out.pop("hours", None)
        out.pop("weekdays", None)
        for key in ("from", "to"):
            if key in out:
                out[key] = out[key][:7]
        known = {g for layer in layers for g in CATEGORY_GROUPS[layer]}
    kept = [c for c in out.pop("categories", "").split(",") if c in known]
    if kept:
        out["categories"] = ",".join(kept)
    return out, notes


def _fit_layers(out: dict[str, str], policy: RolePolicy, notes: list[str]) -> tuple[str, ...]:
    """Drop from ``out`` the layers ``policy`` does not give; return the layers left."""
    if "layers" not in out:
        return policy.layers
    asked = [_LAYER_ALIASES.get(p.strip().lower(), p) for p in out["layers"].split(",")]
    kept = [layer for layer in asked if layer in policy.layers]
    if len(kept) < len(asked):
        notes.append("Layers your role does not see were left out.")
    if not kept:
        del out["layers"]
        return policy.layers
    out["layers"] = ",".join(dict.fromkeys(kept))
    return tuple(kept)


def _month_end(month: str) -> str:
    first = _month(month, "to")
    after = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return date.fromordinal(after.toordinal() - 1).isoformat()
