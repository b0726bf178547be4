"""Role policies: the shipped roles, tightened by a deployment's own file.

The shipped file (``data/policies.toml``) defines every role: what it may see, how its counts
are protected, and which dashboard pages it gets. A role added there appears in the dashboard's
menu and the CLI with no code change. A deployment's file (``STREETSAFE_POLICY``) names only the
keys it tightens, role by role; roles and keys it does not name stay as shipped. Anything looser
than the shipped policy is refused, naming the role and the key.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from geo.errors import ConfigError
from geo.layers import LAYERS, POLICEUK, SHARING_LEVELS
from geo.privacy import RolePolicy
from geo.releases import RELEASE_RES
from streetsafe.resources import data_file

# The dashboard's pages, by screen name, in menu order (dashboard/screens/<name>.py).
PAGES = ("night_map", "route", "hotspots", "trends", "local_impact", "data", "about")
# The layers a role may be given the right to upload to (police.uk files are the operator's).
UPLOAD_LAYERS = tuple(layer for layer in LAYERS if layer != POLICEUK)


def _subset_of(allowed: tuple[str, ...]) -> Callable[[Any], str | None]:
    def check(values: list[Any]) -> str | None:
        unknown = [v for v in values if v not in allowed]
        return f"unknown {unknown[0]!r} (known: {', '.join(allowed)})" if unknown else None

    return check


def _between(low: int, high: int) -> Callable[[Any], str | None]:
    def check(value: int) -> str | None:
        return None if low <= value <= high else f"must be {low} to {high}, got {value}"

    return check


def _at_least(low: int) -> Callable[[Any], str | None]:
    def check(value: int) -> str | None:
        return None if value >= low else f"must be at least {low}, got {value}"

    return check


def _anything(value: Any) -> str | None:
    del value
    return None


def _fewer(new: list[Any], base: list[Any]) -> bool:
    return set(new) <= set(base)


@dataclass(frozen=True)
class _Key:
    """One key of a role's table: its type, what values it takes, and what is tighter."""

    kind: type
    check: Callable[[Any], str | None]
    tighter: Callable[[Any, Any], bool]  # (deployment's, shipped) -> not looser


_KEYS: dict[str, _Key] = {
    "title": _Key(str, _anything, lambda new, base: True),
    "layers": _Key(list, _subset_of(LAYERS), _fewer),
    "finest_res": _Key(int, _between(6, 12), lambda new, base: new <= base),
    "k": _Key(int, _at_least(2), lambda new, base: new >= base),
    "sharing": _Key(list, _subset_of(SHARING_LEVELS), _fewer),
    "perturb": _Key(bool, _anything, lambda new, base: new or not base),
    "round_to": _Key(int, _at_least(1), lambda new, base: new >= base and new % base == 0),
    "min_shown": _Key(int, _at_least(0), lambda new, base: new >= base),
    # fewer levels of roll-up publish fewer merged hexagons (more is held back)
    "max_rollup": _Key(int, _between(0, 6), lambda new, base: new <= base),
    "uploads": _Key(list, _subset_of(UPLOAD_LAYERS), _fewer),
    "pages": _Key(list, _subset_of(PAGES), _fewer),
    "default_layers": _Key(list, _subset_of(LAYERS), lambda new, base: True),
    "enabled": _Key(bool, _anything, lambda new, base: base or not new),
    # trusted with the records' own detail (live views with fine filters), or else sees
    # monthly releases only (see the README's threat model)
    "case_knowledge": _Key(bool, _anything, lambda new, base: base or not new),
}
_TUPLES = {name for name, key in _KEYS.items() if key.kind is list}
_POLICY_FIELDS = {f.name for f in fields(RolePolicy)}


def default_policy_file() -> Path:
    """Return the shipped policy file."""
    return data_file("policies.toml")


def load_policies(deployment: Path | None = None) -> dict[str, RolePolicy]:
    """Return the policy of every enabled role: the shipped ones, tightened by ``deployment``.

    A deployment may drop layers, sharing levels and pages, raise ``k``, ``round_to`` and
    ``min_shown``, coarsen ``finest_res``, lower ``max_rollup``, turn perturbation on,
    drop upload layers, or turn a role off (``enabled = false``); anything looser is refused
    with a message naming the role and the key.
    """
    shipped_file = default_policy_file()
    shipped = {name: _role(name, raw, shipped_file) for name, raw in _read(shipped_file).items()}
    chosen = dict(shipped)
    if deployment is not None:
        for name, raw in _read(deployment).items():
            if name not in shipped:
                raise ConfigError(
                    f"{deployment}: unknown role [{name}]; roles are {', '.join(shipped)}"
                )
            merged = _role(name, {**shipped[name], **raw}, deployment)
            _check_tighter(name, merged, shipped[name], deployment)
            chosen[name] = merged
    enabled = {name: raw for name, raw in chosen.items() if raw["enabled"]}
    if not enabled:
        raise ConfigError(f"{deployment}: every role is turned off (enabled = false)")
    return {name: _policy(name, raw) for name, raw in enabled.items()}


def _read(path: Path) -> dict[str, dict[str, Any]]:
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except OSError as exc:
        raise ConfigError(f"cannot read the policy file {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"policy file {path} is not valid TOML: {exc}") from None
    for name, table in data.items():
        if not isinstance(table, dict):
            raise ConfigError(f"{path}: {name} must be a table [{name}]")
    return data


def _role(name: str, raw: Mapping[str, Any], path: Path) -> dict[str, Any]:
    """Check one role's table; return it complete (``enabled`` defaults to true)."""
    raw = {"enabled": True, **raw}
    for key, value in raw.items():
        spec = _KEYS.get(key)
        if spec is None:
            raise ConfigError(f"{path} [{name}]: unknown key {key!r}; keys are {', '.join(_KEYS)}")
        if not isinstance(value, spec.kind) or (spec.kind is int and isinstance(value, bool)):
            raise ConfigError(f"{path} [{name}]: {key} must be {spec.kind.__name__}, got {value!r}")
        problem = spec.check(value)
        if problem:
            raise ConfigError(f"{path} [{name}]: {key}: {problem}")
    missing = [k for k in _KEYS if k not in raw]
    if missing:
        raise ConfigError(f"{path} [{name}]: missing {', '.join(missing)}")
    outside = [layer for layer in raw["default_layers"] if layer not in raw["layers"]]
    if outside:
        raise ConfigError(
            f"{path} [{name}]: default_layers: {outside[0]!r} is not one of its layers"
        )
    unseen = [layer for layer in raw["uploads"] if layer not in raw["layers"]]
    if unseen:
        raise ConfigError(
            f"{path} [{name}]: uploads: {unseen[0]!r} is not one of its layers (a role uploads "
            "only to layers it sees)"
        )
    if "data" in raw["pages"] and not raw["uploads"]:
        raise ConfigError(f"{path} [{name}]: the data page needs some uploads (layers)")
    if not raw["case_knowledge"] and raw["finest_res"] > RELEASE_RES:
        raise ConfigError(
            f"{path} [{name}]: finest_res: a role without case knowledge sees the monthly "
            f"releases, made at resolution {RELEASE_RES}; it cannot see {raw['finest_res']}"
        )
    return raw


def _check_tighter(name: str, new: dict[str, Any], base: dict[str, Any], path: Path) -> None:
    looser = [key for key, spec in _KEYS.items() if not spec.tighter(new[key], base[key])]
    if looser:
        raise ConfigError(
            f"{path} [{name}]: {', '.join(looser)} would loosen the shipped policy; "
            "a deployment may only tighten it"
        )


def _policy(name: str, raw: dict[str, Any]) -> RolePolicy:
    values: dict[str, Any] = {
        key: tuple(value) if key in _TUPLES else value
        for key, value in raw.items()
        if key in _POLICY_FIELDS
    }
    return RolePolicy(name=name, **values)
