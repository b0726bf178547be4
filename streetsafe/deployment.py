"""Build what the deployment's settings name: study area, sealing context, access map,
and whether sign-in is configured."""

from __future__ import annotations

import json
import tomllib
from collections.abc import Collection
from pathlib import Path

import shapely
from shapely.geometry import shape

from geo.area import StudyArea
from geo.errors import ConfigError
from ingest.agencies import Agencies
from ingest.gazetteer import Gazetteer
from ingest.pseudonyms import Pseudonymiser, load_key
from ingest.seal import SealContext
from streetsafe.access import AccessMap
from streetsafe.settings import Settings


def load_study_area(path: Path) -> StudyArea:
    """Read a boundary (GeoJSON Feature, FeatureCollection, or GeoJSON lines) in WGS84."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read the study area {path}: {exc.strerror}") from None
    try:
        docs = (
            [json.loads(line) for line in text.splitlines() if line.strip()]
            if (path.suffix == ".geojsonl")
            else [json.loads(text)]
        )
    except json.JSONDecodeError as exc:
        raise ConfigError(f"study area {path} is not valid GeoJSON: {exc}") from None
    features = []
    for doc in docs:
        features.extend(doc.get("features", [doc]))
    try:
        geoms = [shape(f["geometry"]) for f in features]
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ConfigError(f"study area {path} has a feature without a geometry: {exc}") from None
    if not geoms:
        raise ConfigError(f"study area {path} has no features")
    props = features[0].get("properties") or {}
    name = next((str(v) for k, v in props.items() if k.lower().endswith(("nm", "name"))), path.stem)
    return StudyArea(name=name, geometry=shapely.union_all(geoms))


def seal_context(settings: Settings) -> SealContext:
    """Return the sealing context for the deployment described by ``settings``."""
    key = load_key(env_key=settings.pseudonym_key, key_file=settings.key_file)
    return SealContext(
        study_area=load_study_area(settings.study_area),
        gazetteer=Gazetteer.load(settings.gazetteer),
        agencies=Agencies.load(settings.agencies),
        pseudonymiser=Pseudonymiser(key),
        storage_res=settings.storage_res,
        max_field_bytes=settings.max_field_bytes,
    )


def load_access(settings: Settings, roles: Collection[str]) -> AccessMap:
    """Return the deployment's access map (no grants if ``STREETSAFE_ACCESS`` is unset)."""
    if settings.access is None:
        return AccessMap(())
    agencies = Agencies.load(settings.agencies)
    return AccessMap.load(settings.access, roles=roles, agency_of=agencies.canonical)


def secrets_file(settings: Settings) -> Path:
    """Return the Streamlit secrets file the dashboard reads its ``[auth]`` section from."""
    return settings.secrets or Path(".streamlit") / "secrets.toml"


def identity_provider_configured(settings: Settings) -> bool:
    """Return whether the secrets file configures sign-in through an identity provider."""
    path = secrets_file(settings)
    try:
        with path.open("rb") as fh:
            secrets = tomllib.load(fh)
    except FileNotFoundError:
        if settings.secrets is not None:
            raise ConfigError(f"cannot read the secrets file {path} (STREETSAFE_SECRETS)") from None
        return False
    except OSError as exc:
        raise ConfigError(f"cannot read the secrets file {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"secrets file {path} is not valid TOML: {exc}") from None
    return isinstance(secrets.get("auth"), dict)
