"""Every setting of streetsafe in one place: name, environment variable, default, meaning.

A setting is read from its environment variable when set, else takes its default. The README's
"Settings" table lists each of them (a test keeps the two in step).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime
from pathlib import Path
from typing import Any

from geo.errors import ConfigError
from geo.hexes import check_resolution
from streetsafe.resources import data_file

DEFAULT_RESIDENT_ROWS = 20_000_000
_NO_LIMIT = 2**62


def _default_key_file() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "streetsafe" / "pseudonym.key"


@dataclass(frozen=True)
class Settings:
    """The deployment's settings; build with :meth:`from_env`."""

    store: str = field(
        default="var/streetsafe.duckdb",
        metadata={
            "env": "STREETSAFE_STORE",
            "doc": "Store URL: a file path (embedded DuckDB) or a postgresql:// URL (PostGIS).",
        },
    )
    storage_res: int = field(
        default=10,
        metadata={
            "env": "STREETSAFE_STORAGE_RES",
            "doc": "H3 resolution points are sealed at "
            "on ingest (6-12); fixed for the life of a store.",
        },
    )
    resident_rows: int = field(
        default=DEFAULT_RESIDENT_ROWS,
        metadata={
            "env": "STREETSAFE_RESIDENT_ROWS",
            "whole": (0, _NO_LIMIT, "records"),
            "doc": "The dashboard answers views from memory for stores of up to this many records "
            "(about 25 bytes each); bigger ones, or 0, from the store's SQL.",
        },
    )
    pseudonym_key: str | None = field(
        default=None,
        metadata={
            "env": "STREETSAFE_PSEUDONYM_KEY",
            "doc": "Secret key (64 hex characters) for person pseudonyms; overrides the key file.",
        },
    )
    key_file: Path = field(
        default_factory=_default_key_file,
        metadata={
            "env": "STREETSAFE_KEY_FILE",
            "doc": "Key file, created with mode 0600 on first run; keep it apart from the store.",
        },
    )
    study_area: Path = field(
        default_factory=lambda: data_file("boundaries", "southampton_lad20_E06000045.geojsonl"),
        metadata={
            "env": "STREETSAFE_STUDY_AREA",
            "doc": "Boundary of the study area "
            "(GeoJSON or GeoJSON lines, WGS84); points outside are refused, and the maps open "
            "on it.",
        },
    )
    wards: tuple[Path, ...] = field(
        default_factory=lambda: (
            data_file("boundaries", "southampton_wards_WD13_E06000045.geojson"),
        ),
        metadata={
            "env": "STREETSAFE_WARDS",
            "doc": "Local areas for the Local impact page and the map's outlines (GeoJSON, "
            "WGS84; ONS-style code and name properties such as WD23CD/WD23NM, or code/name); "
            f"several files, separated by {os.pathsep!r} as in PATH, are read as one set, each "
            "code once (an area in two files with the same name and outline counts once).",
        },
    )
    gazetteer: Path = field(
        default_factory=lambda: data_file("gazetteer.csv"),
        metadata={
            "env": "STREETSAFE_GAZETTEER",
            "doc": "Named places (name, latitude, "
            "longitude) that reports may give instead of coordinates.",
        },
    )

    agencies: Path = field(
        default_factory=lambda: data_file("agencies.csv"),
        metadata={
            "env": "STREETSAFE_AGENCIES",
            "doc": "The agencies reports may name (CSV: name, also = other spellings separated "
            "by ;, references = the person-reference scheme it shares with other agencies); a "
            "report naming another is rejected with the closest names.",
        },
    )

    max_field_bytes: int = field(
        default=1 << 20,
        metadata={
            "env": "STREETSAFE_MAX_FIELD_BYTES",
            "whole": (64, _NO_LIMIT, "bytes"),
            "doc": "The longest field a report file's row may have (UTF-8 bytes); a row with a "
            "longer one is rejected with its reason, the file's other rows go in.",
        },
    )

    release_after_days: int = field(
        default=7,
        metadata={
            "env": "STREETSAFE_RELEASE_AFTER_DAYS",
            "whole": (0, _NO_LIMIT, "days"),
            "doc": "Days after a month ends before its release is made for partner roles (late "
            "reports arrive meanwhile); a release is never made again.",
        },
    )

    release_from: str | None = field(
        default=None,
        metadata={
            "env": "STREETSAFE_RELEASE_FROM",
            "doc": "The first month partners' releases cover (YYYY-MM), chosen by the operator; "
            "unset: the first month of public police.uk data, else of any record (then which "
            "month partner figures start in follows the earliest record: set this).",
        },
    )

    policy: Path | None = field(
        default=None,
        metadata={
            "env": "STREETSAFE_POLICY",
            "doc": "A deployment's role policy file (TOML) "
            "that tightens the shipped data/policies.toml; unset: the shipped policies.",
        },
    )

    access: Path | None = field(
        default=None,
        metadata={
            "env": "STREETSAFE_ACCESS",
            "doc": "The access map (TOML): which identity from the identity provider (by email, "
            'group or email domain) gets which role and agency; see the README\'s "Sign-in".',
        },
    )

    secrets: Path | None = field(
        default=None,
        metadata={
            "env": "STREETSAFE_SECRETS",
            "doc": "Streamlit secrets file holding the [auth] section (identity provider, client "
            "id and secret, cookie secret); unset: .streamlit/secrets.toml as Streamlit looks.",
        },
    )

    session_hours: int = field(
        default=12,
        metadata={
            "env": "STREETSAFE_SESSION_HOURS",
            "whole": (1, 24 * 7, "hours"),
            "doc": "Hours a sign-in lasts (one night shift); then the user signs in again.",
        },
    )

    hotspot_rings: int = field(
        default=1,
        metadata={
            "env": "STREETSAFE_HOTSPOT_RINGS",
            "whole": (1, 3, "rings"),
            "doc": "Hotspots (Gi*): a hexagon's neighbours are this many rings of hexagons "
            "around it, within the study area.",
        },
    )

    hotspot_permutations: int = field(
        default=9_999,
        metadata={
            "env": "STREETSAFE_HOTSPOT_PERMUTATIONS",
            "whole": (999, 99_999, "permutations"),
            "doc": "Permutations behind each hotspot p-value, ten times as many for a hexagon "
            "near the limit; the smallest p-value is 2/(10 x permutations + 1).",
        },
    )

    trend_months: int = field(
        default=12,
        metadata={
            "env": "STREETSAFE_TREND_MONTHS",
            "whole": (6, 60, "months"),
            "doc": "Months (up to the period's last) that emerging hot and cold spots are "
            "judged over.",
        },
    )

    new_area_months: int = field(
        default=3,
        metadata={
            "env": "STREETSAFE_NEW_AREA_MONTHS",
            "whole": (1, 24, "months"),
            "doc": "A hexagon is newly active when shown in the period's last month and in none "
            "of this many months before it.",
        },
    )

    foot_kmh: float = field(
        default=4.5,
        metadata={
            "env": "STREETSAFE_FOOT_KMH",
            "decimal": (1.0, 10.0, "km/h"),
            "doc": "Route planner: walking speed of a foot team, stops and crossings included.",
        },
    )

    van_kmh: float = field(
        default=18.0,
        metadata={
            "env": "STREETSAFE_VAN_KMH",
            "decimal": (5.0, 60.0, "km/h"),
            "doc": "Route planner: a van's average speed in town at night, parking included.",
        },
    )

    detour: float = field(
        default=1.3,
        metadata={
            "env": "STREETSAFE_DETOUR",
            "decimal": (1.0, 3.0, "(a factor)"),
            "doc": "Route planner: streets are this much longer than the straight line (travel "
            "times are shown as an estimate).",
        },
    )

    route_seconds: int = field(
        default=3,
        metadata={
            "env": "STREETSAFE_ROUTE_SECONDS",
            "whole": (1, 60, "seconds"),
            "doc": "Route planner: how long the solver searches for a better route.",
        },
    )

    route_max_stops: int = field(
        default=80,
        metadata={
            "env": "STREETSAFE_ROUTE_MAX_STOPS",
            "whole": (10, 400, "stops"),
            "doc": "Route planner: the most candidate stops planned over (the most valuable).",
        },
    )

    basemap: str | None = field(
        default=None,
        metadata={
            "env": "STREETSAFE_BASEMAP",
            "doc": "Base map style URL for deployments with "
            "internet (e.g. a Carto or tile-server style); unset: no tiles, works offline.",
        },
    )

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        """Read settings from ``env`` (default: the process environment), then ``overrides``."""
        env = os.environ if env is None else env
        values: dict[str, object] = {}
        for f in fields(cls):
            raw = env.get(f.metadata["env"])
            if raw is not None and raw != "":
                values[f.name] = raw
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls._coerce(values)

    @classmethod
    def _coerce(cls, values: dict[str, object]) -> Settings:
        out: dict[str, object] = {}
        for f in fields(cls):
            if f.name not in values:
                continue
            raw = values[f.name]
            if f.name in _CONVERT:
                out[f.name] = _CONVERT[f.name](f.metadata["env"], raw)
            elif "decimal" in f.metadata:
                out[f.name] = _decimal(f.metadata, raw)
            elif "whole" in f.metadata:
                out[f.name] = _whole(f.metadata, raw)
            elif f.name in {
                "key_file",
                "study_area",
                "gazetteer",
                "agencies",
                "policy",
                "access",
                "secrets",
            }:
                out[f.name] = Path(str(raw)).expanduser()
            else:
                out[f.name] = str(raw)
        return cls(**out)  # type: ignore[arg-type]


def _decimal(meta: Mapping[str, Any], raw: object) -> float:
    low, high, unit = meta["decimal"]
    try:
        value = float(str(raw))
    except ValueError:
        value = float("nan")
    if not low <= value <= high:
        raise ConfigError(
            f"{meta['env']} must be a number from {low:g} to {high:g} {unit}, got {raw!r}"
        )
    return value


def _whole(meta: Mapping[str, Any], raw: object) -> int:
    low, high, unit = meta["whole"]
    try:
        number = int(str(raw).replace("_", ""))
    except ValueError:
        number = low - 1
    if not low <= number <= high:
        span = f"{low} or more" if high == _NO_LIMIT else f"{low} to {high}"
        raise ConfigError(f"{meta['env']} must be a whole number of {unit} ({span}), got {raw!r}")
    return number


def _resolution(env: str, raw: object) -> int:
    try:
        res = int(str(raw))
    except ValueError:
        raise ConfigError(f"{env} must be a whole number, got {raw!r}") from None
    return check_resolution(res, finest=12, coarsest=6)


def _month(env: str, raw: object) -> str:
    text = str(raw).strip()
    try:
        datetime.strptime(text, "%Y-%m")
    except ValueError:
        raise ConfigError(f"{env} must be a month written YYYY-MM, got {raw!r}") from None
    return text


def _paths(env: str, raw: object) -> tuple[Path, ...]:
    """One path or several: separated by ``os.pathsep`` (``:``, ``;`` on Windows) as in PATH."""
    items = raw if isinstance(raw, list | tuple) else str(raw).split(os.pathsep)
    paths = tuple(Path(str(item)).expanduser() for item in items if str(item).strip())
    if not paths:
        raise ConfigError(f"{env} must name at least one file, got {raw!r}")
    return paths


_CONVERT: dict[str, Callable[[str, object], object]] = {
    "storage_res": _resolution,
    "release_from": _month,
    "wards": _paths,
}


def documented_settings() -> list[tuple[str, str, str]]:
    """Return (environment variable, default, meaning) of every setting, for docs and help."""
    rows = []
    for f in fields(Settings):
        default = f.default_factory() if callable(f.default_factory) else f.default
        if isinstance(default, tuple):
            default = os.pathsep.join(_shown(p) for p in default)
        elif isinstance(default, Path):
            default = _shown(default)
        rows.append((f.metadata["env"], "" if default is None else str(default), f.metadata["doc"]))
    return rows


def _shown(path: Path) -> str:
    """Return ``path`` as the docs show it: a shipped file as it is named in the repository."""
    try:
        return str(Path("data") / path.relative_to(data_file()))
    except ValueError:
        return str(path).replace(str(Path.home()), "~")
