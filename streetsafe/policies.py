"""Load the role policies: the shipped defaults, tightened by a deployment's own file."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from geo.aggregate import LAYERS
from geo.errors import ConfigError
from geo.privacy import RolePolicy
from streetsafe.settings import DATA_DIR

DEFAULT_POLICY_FILE = DATA_DIR / "policies.toml"
_SHARING = ("outreach_only", "partners", "public")
_FIELDS = {
    "title": str,
    "layers": list,
    "finest_res": int,
    "k": int,
    "sharing": list,
    "perturb": bool,
    "round_to": int,
    "min_shown": int,
    "max_rollup": int,
    "can_upload": bool,
}


def load_policies(deployment: Path | None = None) -> dict[str, RolePolicy]:
    """Return the policy of every role: the defaults, tightened by ``deployment`` if given.

    A deployment may drop roles, layers and sharing levels, raise ``k``, ``round_to``,
    ``min_shown``, coarsen ``finest_res``, turn perturbation on and upload off; anything looser is
    refused with a message naming the role and the key.
    """
    defaults = {
        name: _policy(name, raw, DEFAULT_POLICY_FILE)
        for name, raw in _read(DEFAULT_POLICY_FILE).items()
    }
    if deployment is None:
        return defaults
    tightened = {}
    for name, raw in _read(deployment).items():
        if name not in defaults:
            raise ConfigError(
                f"{deployment}: unknown role [{name}]; roles are {', '.join(defaults)}"
            )
        base = defaults[name]
        merged = {**{f: getattr(base, f) for f in _FIELDS}, **raw}
        policy = _policy(name, merged, deployment)
        _check_tighter(policy, base, deployment)
        tightened[name] = policy
    return tightened


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


def _policy(name: str, raw: dict[str, Any], path: Path) -> RolePolicy:
    for key, value in raw.items():
        expected = _FIELDS.get(key)
        if expected is None:
            raise ConfigError(
                f"{path} [{name}]: unknown key {key!r}; keys are {', '.join(_FIELDS)}"
            )
        if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
            raise ConfigError(f"{path} [{name}]: {key} must be {expected.__name__}, got {value!r}")
    missing = [k for k in _FIELDS if k not in raw]
    if missing:
        raise ConfigError(f"{path} [{name}]: missing {', '.join(missing)}")
    for layer in raw["layers"]:
        if layer not in LAYERS:
            raise ConfigError(f"{path} [{name}]: unknown layer {layer!r}")
    for level in raw["sharing"]:
        if level not in _SHARING:
            raise ConfigError(f"{path} [{name}]: unknown sharing level {level!r}")
    if raw["k"] < 2 or not 6 <= raw["finest_res"] <= 12 or raw["round_to"] < 1:
        raise ConfigError(f"{path} [{name}]: k must be at least 2, finest_res 6-12, round_to >= 1")
    if raw["max_rollup"] < 0:
        raise ConfigError(f"{path} [{name}]: max_rollup must be 0 or more")
    return RolePolicy(
        name=name,
        title=raw["title"],
        layers=tuple(raw["layers"]),
        finest_res=raw["finest_res"],
        k=raw["k"],
        sharing=tuple(raw["sharing"]),
        perturb=raw["perturb"],
        round_to=raw["round_to"],
        min_shown=raw["min_shown"],
        max_rollup=raw["max_rollup"],
        can_upload=raw["can_upload"],
    )


def _check_tighter(policy: RolePolicy, base: RolePolicy, path: Path) -> None:
    looser = []
    if not set(policy.layers) <= set(base.layers):
        looser.append("layers")
    if not set(policy.sharing) <= set(base.sharing):
        looser.append("sharing")
    if policy.k < base.k:
        looser.append("k")
    if policy.finest_res > base.finest_res:
        looser.append("finest_res")
    if base.perturb and not policy.perturb:
        looser.append("perturb")
    if policy.round_to < base.round_to or policy.round_to % base.round_to:
        looser.append("round_to")
    if policy.min_shown < base.min_shown:
        looser.append("min_shown")
    if policy.can_upload and not base.can_upload:
        looser.append("can_upload")
    if looser:
        raise ConfigError(
            f"{path} [{policy.name}]: {', '.join(looser)} would loosen the shipped policy; "
            "a deployment may only tighten it"
        )
