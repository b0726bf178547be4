"""The dashboard's session: who is looking (role), the store behind the gate, cached views.

Every cached function takes all of its inputs as parameters (store URL, data version, role,
request), so a cached answer is never served for another question.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any

import pandas as pd
import pydeck as pdk
import streamlit as st

from geo.aggregate import Contributions, CubeFilter
from geo.area import MapView, StudyArea, fit_view
from geo.export import view_table
from geo.places import PlaceIndex
from geo.privacy import PublishedView, RolePolicy
from geo.sun import AFTER_SUNSET
from geo.wards import Areas
from ingest.files import spreadsheet_csv
from ingest.gazetteer import Gazetteer
from ingest.seal import SealContext
from store import CountSource, ResidentViews, Store, open_store
from store.cube import DIMENSIONS, ResidentCube
from streetsafe import audit, boundaries, handoff
from streetsafe.access import ADMIN, AccessMap
from streetsafe.deployment import load_access, load_study_area, seal_context
from streetsafe.filters import ReleaseRequest, ViewRequest
from streetsafe.forecast import ForecastView
from streetsafe.hotspots import HotspotReport
from streetsafe.policies import PAGES, default_policy_file, load_policies
from streetsafe.route import NightRoute, RouteRequest
from streetsafe.settings import Settings
from streetsafe.views import (
    Coverage,
    area_view,
    coverage,
    published_view,
    release_area_view,
    release_view,
)

VIEWER_KEY = "_streetsafe_viewer"
STREET_LABELS = 250  # the main streets named on the map at street zoom
AnyRequest = ViewRequest | ReleaseRequest


@dataclass(frozen=True)
class Deployment:
    """What the dashboard was started with."""

    settings: Settings
    policies: dict[str, RolePolicy]
    access: AccessMap


@dataclass(frozen=True)
class Viewer:
    """The person at the dashboard: their email, and the role and agency it gives them."""

    email: str
    role: str
    agency: str
    via: str  # "oidc", "local" or "demo"
    since: float  # when the sign-in was made (epoch seconds)
    stamp: str = ""  # a local account's state at sign-in (streetsafe.accounts.account_stamp)

    @property
    def actor(self) -> audit.Actor:
        """Who this is, for the audit trail."""
        return audit.Actor(self.email, self.role, self.agency)

    @property
    def demo(self) -> bool:
        """Whether this is demo mode (a chosen role, no sign-in)."""
        return self.via == "demo"


@st.cache_resource
def deployment() -> Deployment:
    """Return the settings, role policies and access map (read once per server); a change to
    the policies or the access map since the last start is written to the audit trail."""
    settings = Settings.from_env(store=os.environ.get("STREETSAFE_STORE"))
    policies = load_policies(settings.policy)
    return Deployment(settings, policies, load_access(settings, policies))


@st.cache_resource
def note_policy_changes() -> bool:
    """Audit a change of the policy file or the access map (by their SHA-256) since the
    dashboard last started (once per server); return True if there was one."""
    dep = deployment()
    policy = dep.settings.policy or default_policy_file()
    now = {
        "policy_sha256": hashlib.sha256(policy.read_bytes()).hexdigest(),
        "access_sha256": dep.access.digest,
        "grants": len(dep.access.grants),
    }
    with store() as st_:
        last = st_.audit_entries(events=[audit.AUTHZ_CHANGE])
        if len(last) and json.loads(last["detail"].iloc[-1]) == now:
            return False
        audit.record(st_, audit.AUTHZ_CHANGE, audit.OPERATOR, **now)
    return True


class _Shared:
    """One store connection per server, used by one session at a time, and its views.

    Views are answered from memory once the records are loaded, on a thread of its own
    (seconds for a force's records); until then, and while it takes in new files, from the
    store's SQL: no session waits for the load, or holds the others up behind it.
    """

    def __init__(self, url: str, storage_res: int, resident_rows: int) -> None:
        self.store = open_store(url, storage_res=storage_res)
        self.views = ResidentViews(self.store, max_rows=resident_rows, background=True)
        self.views.warm()
        self.lock = threading.Lock()
        self.ingesting = threading.Lock()  # a file going in: an upload, or one handed over
        # `streetsafe ingest` on the embedded store this server holds hands its files here
        self.handoff = handoff.serve(
            url,
            settings=deployment().settings,
            open_store=self.reader,
            ingest_lock=self.ingesting,
        )

    @contextmanager
    def reader(self) -> Iterator[Store]:
        """A connection of its own to the store, for a long read or a file handed over."""
        with self.lock:
            reader = self.store.reader()
        try:
            yield reader
        finally:
            reader.close()


@st.cache_resource
def _shared_store(url: str, storage_res: int, resident_rows: int) -> _Shared:
    return _Shared(url, storage_res, resident_rows)


@contextmanager
def _shared() -> Iterator[_Shared]:
    settings = deployment().settings
    shared = _shared_store(settings.store, settings.storage_res, settings.resident_rows)
    with shared.lock:
        yield shared


@contextmanager
def store() -> Iterator[Store]:
    """Borrow the store, to write to it (pages never keep it: they receive published views)."""
    with _shared() as shared:
        yield shared.store


@contextmanager
def reading() -> Iterator[Store]:
    """A connection of its own to the store, for a long read (hotspots, a forecast's fit):
    other sessions' reruns do not wait for it behind the shared store's lock."""
    settings = deployment().settings
    shared = _shared_store(settings.store, settings.storage_res, settings.resident_rows)
    with shared.reader() as reader:
        yield reader


@contextmanager
def ingesting() -> Iterator[None]:
    """Hold off other files (uploads, and files `streetsafe ingest` hands over) while one
    goes in: two at once could both add the same record."""
    settings = deployment().settings
    with _shared_store(settings.store, settings.storage_res, settings.resident_rows).ingesting:
        yield


class _Counts:
    """The shared store's counts, for the one door. Counted from the resident cube (memory,
    read-only) with no lock held, so that sessions' views do not wait for each other; the SQL
    (before the cube is loaded, or for what it cannot answer) runs under the store's lock."""

    def __init__(self, shared: _Shared) -> None:
        self._shared = shared
        self.storage_res = shared.store.storage_res

    def _cube(self, by: tuple[str, ...]) -> ResidentCube | None:
        if not all(d in DIMENSIONS for d in by):
            return None
        with self._shared.lock:  # (a look at the data's version: a query on PostGIS)
            return self._shared.views.current()

    def cube(
        self,
        f: CubeFilter,
        *,
        res: int | None,
        by: tuple[str, ...] = (),
        sun_at: tuple[float, float] | None = None,
    ) -> Contributions:
        """Return the count cube of ``f`` (as :meth:`Store.cube`)."""
        cube = self._cube(by)
        answer = cube.contributions(f, res=res, by=by) if cube is not None else None
        if answer is not None:
            return answer
        with self._shared.lock:
            return self._shared.views.cube(f, res=res, by=by, sun_at=sun_at)

    def view_counts(
        self,
        f: CubeFilter,
        *,
        res: int | None,
        by: tuple[str, ...] = (),
        sun_at: tuple[float, float] | None = None,
    ) -> tuple[Contributions, int]:
        """Return the count cube of ``f`` and the records it leaves out for want of a time."""
        cube = self._cube(by)
        answer = cube.contributions(f, res=res, by=by) if cube is not None else None
        if cube is not None and answer is not None:
            return answer, cube.unknown_time_count(f) if f.needs_time_of_night else 0
        with self._shared.lock:
            return self._shared.views.view_counts(f, res=res, by=by, sun_at=sun_at)


@contextmanager
def counts() -> Iterator[CountSource]:
    """Borrow the store's counts (from memory where they are loaded, without waiting for other
    sessions), for the one door."""
    settings = deployment().settings
    yield _Counts(_shared_store(settings.store, settings.storage_res, settings.resident_rows))


def current_viewer() -> Viewer:
    """Return the person at the dashboard (set by the sign-in gate at the top of every run)."""
    found = st.session_state.get(VIEWER_KEY)
    if not isinstance(found, Viewer):
        st.error("Sign in first.")
        st.stop()
    return found


def current_role() -> str:
    """Return the role of the person looking at the dashboard: from their sign-in (or, on demo
    data, the demo chooser), never from a link."""
    return current_viewer().role


def audit_read(page: str, request: AnyRequest | None, *, cells: int, export: str = "") -> None:
    """Write a view (once per session and question) or an export (each time) to the audit
    trail: the page, the role's request (release months or filters), the cells it returned."""
    who = current_viewer()
    detail: dict[str, Any] = {"page": page, "cells": cells}
    if request is not None:
        detail["request"] = request.query_params()
    if export:
        detail["export"] = export
    else:
        key = json.dumps([who.email, detail], sort_keys=True, default=str)
        seen: set[str] = st.session_state.setdefault("_streetsafe_reads", set())
        if key in seen:
            return
        seen.add(key)
    with store() as st_:
        audit.record(st_, audit.SENSITIVE_READ, who.actor, **detail)


def data_version() -> tuple[int, ...]:
    """Return (batches, records accepted, uploads undone, releases): changes whenever data is
    added or taken back, or a month released, so caches refresh.

    Read from the small tables of files and releases, not by counting records, and at most
    once a second for all sessions together (a file ingested from the command line shows at
    the next rerun after that; an upload from the dashboard at once, see :func:`data_changed`).
    """
    return _data_version(deployment().settings.store)


@st.cache_data(ttl=1, max_entries=4, show_spinner=False)
def _data_version(url: str) -> tuple[int, ...]:
    del url  # part of the cache key only
    with store() as st_:
        return (*st_.data_version(), len(st_.release_ids()))


def data_changed() -> None:
    """Say that this session changed the data (an upload, an undo): the next rerun sees it."""
    _data_version.clear()


@st.cache_data(max_entries=256, show_spinner=False)
def cached_view(
    url: str,
    version: tuple[int, ...],
    request: ViewRequest,
    by: tuple[str, ...] = (),
    *,
    within: tuple[int, ...] | None = None,
    with_cells: bool = True,
) -> PublishedView:
    """Return the published view of ``request`` (cached per store, data version and request)."""
    del url, version  # part of the cache key only
    dep = deployment()
    f = request.cube_filter()
    if within is not None:
        f = replace(f, within=within)
    sun_at = study_area_centre() if AFTER_SUNSET in by else None
    with counts() as source:
        return published_view(
            source,
            dep.policies[request.role],
            f,
            res=request.res if with_cells else None,
            by=by,
            sun_at=sun_at,
        )


def coverage_of(role: str) -> Coverage:
    """Return the stretch of time ``role``'s data covers (cached per data version)."""
    return _coverage(deployment().settings.store, data_version(), role)


@st.cache_data(max_entries=32, show_spinner=False)
def _coverage(url: str, version: tuple[int, ...], role: str) -> Coverage:
    del url, version  # part of the cache key only
    with store() as st_:
        return coverage(st_, deployment().policies[role])


# --- partner roles: sums of monthly releases --------------------------------------------------


def released_months() -> list[date]:
    """Return the months the operator has released, oldest first (the same for every role:
    which months exist says nothing about the records)."""
    return _released_months(deployment().settings.store, data_version())


@st.cache_data(max_entries=16, show_spinner=False)
def _released_months(url: str, version: tuple[int, ...]) -> list[date]:
    del url, version  # part of the cache key only
    with store() as st_:
        return sorted(st_.release_ids())


@st.cache_data(max_entries=256, show_spinner=False)
def cached_release_view(
    url: str,
    version: tuple[int, ...],
    request: ReleaseRequest,
    by: tuple[str, ...] = (),
    *,
    with_cells: bool = True,
) -> PublishedView:
    """Return a partner's view of ``request``: sums of the operator's releases, cached per
    store, data version and request."""
    del url, version
    with store() as st_:
        return release_view(
            st_, deployment().policies[request.role], request, by=by, with_cells=with_cells
        )


@st.cache_data(max_entries=64, show_spinner=False)
def cached_release_area_view(
    url: str,
    version: tuple[int, ...],
    request: ReleaseRequest,
    by: tuple[str, ...] = (),
) -> PublishedView:
    """Return a partner's released figures per ward (sums of its released hexagons)."""
    del url, version
    with store() as st_:
        return release_area_view(st_, deployment().policies[request.role], request, areas(), by=by)


def map_view_of(url: str, version: tuple[int, ...], request: AnyRequest) -> PublishedView:
    """Return the map's published view of ``request``: live, or sums of releases."""
    if isinstance(request, ReleaseRequest):
        return cached_release_view(url, version, request)
    return cached_view(url, version, request)


@st.cache_resource
def study_area() -> StudyArea:
    """Return the deployment's study area (read once per server)."""
    return load_study_area(deployment().settings.study_area)


def study_area_centre() -> tuple[float, float]:
    """Return (latitude, longitude) of the study area's centre: where sunset is reckoned."""
    centre = study_area().geometry.centroid
    return float(centre.y), float(centre.x)


def map_view() -> MapView:
    """Return where the maps open: the whole study area in view."""
    return fit_view(study_area().geometry.bounds)


def areas() -> Areas:
    """Return the deployment's local areas (wards)."""
    return boundaries.load_areas(deployment().settings.wards)


def areas_geojson() -> dict[str, Any]:
    """Return the local areas as GeoJSON (``code`` and ``name`` properties); a fresh copy."""
    return boundaries.areas_geojson(deployment().settings.wards)


@st.cache_data(max_entries=64, show_spinner=False)
def cached_area_view(
    url: str, version: tuple[int, ...], request: ViewRequest, by: tuple[str, ...] = ()
) -> PublishedView:
    """Return the published view of ``request`` per ward (cached like :func:`cached_view`)."""
    del url, version
    dep = deployment()
    with counts() as source:
        return area_view(source, dep.policies[request.role], request.cube_filter(), areas(), by=by)


def synthetic_loaded() -> bool:
    """Return whether demo (synthetic) data is in the store."""
    return _synthetic(deployment().settings.store, data_version())


@st.cache_data(max_entries=16, show_spinner=False)
def _synthetic(url: str, version: tuple[int, ...]) -> bool:
    del url, version  # part of the cache key only
    with store() as st_:
        return st_.has_synthetic()


@st.cache_data(max_entries=64, show_spinner=False)
def display_table(url: str, version: tuple[int, ...], request: AnyRequest) -> pd.DataFrame:
    """Return the request's published view as a table for people: the hexagon's streets first,
    layer names and plain words, the largest figures first."""
    from dashboard.mapping import LAYER_TITLES, protection_text

    table = view_table(map_view_of(url, version, request), places=places(url, version))
    table["layer"] = table["layer"].map(LAYER_TITLES)
    table["protection"] = table["protection"].map(protection_text)
    table = table.sort_values("value", ascending=False, kind="stable")
    return table.loc[:, ["near", *(c for c in table.columns if c != "near")]]


@st.cache_data(max_entries=64, show_spinner=False)
def view_csv(url: str, version: tuple[int, ...], request: AnyRequest) -> str:
    """Return the CSV export of the request's published view (what ``streetsafe map`` writes)."""
    view = map_view_of(url, version, request)
    return spreadsheet_csv(view_table(view, places=places(url, version)))


@st.cache_resource(max_entries=4, show_spinner=False)
def places(url: str, version: tuple[int, ...]) -> PlaceIndex:
    """Return the store's index of public street names (police.uk's and the gazetteer's), to
    name hexagons: never drawn from the records (geo/places.py)."""
    del url, version  # part of the cache key only
    from streetsafe.places import place_index

    with store() as st_:
        return place_index(st_)


def hexagon_names(url: str, version: tuple[int, ...], cells: pd.Series) -> dict[int, str]:
    """Return each of ``cells``' streets ("near Derby Road, St Mary's Street"), "" for none."""
    ids = cells.to_numpy(dtype="int64")
    return dict(zip(ids.tolist(), places(url, version).names(ids), strict=True))


@st.cache_resource
def seal_context_for(url: str) -> SealContext:
    """Return the sealing context (study area, gazetteer, key) for uploads to ``url``."""
    del url
    return seal_context(deployment().settings)


# Each page's menu title and icon, by screen name (dashboard/screens/<name>.py): the pages a role
# gets are its policy's (streetsafe.policies.PAGES lists them in menu order).
PAGE_TITLES = {
    "night_map": ("Night map", "🗺️"),
    "hotspots": ("Hotspots", ":material/local_fire_department:"),
    "trends": ("Trends", "📈"),
    "local_impact": ("Local impact", "🏘️"),
    "route": ("Route planner", ":material/route:"),
    "data": ("Data", "📥"),
    "about": ("About the data", ":material/info:"),
    "audit": ("Audit trail", ":material/fact_check:"),
}


def pages_for(role: str) -> tuple[str, ...]:
    """Return the pages ``role`` may open, by screen name, in menu order (``admin``: the
    audit trail alone)."""
    if role == ADMIN:
        return ("audit",)
    policy = deployment().policies[role]
    # the route planner plans over the forecast: a role without case knowledge has neither
    return tuple(
        page
        for page in PAGES
        if page in policy.pages and (page != "route" or policy.case_knowledge)
    )


def require_page(name: str) -> str:
    """Stop the page unless the current role may open it; return the role.

    The menu already leaves such pages out; this holds even for a hand-typed address, and
    such an attempt is audited.
    """
    role = current_role()
    if name not in pages_for(role):
        with store() as st_:
            audit.record(st_, audit.AUTHZ_FAIL, current_viewer().actor, asked="page", page=name)
        st.error("This page is not available to your role.")
        st.stop()
    return role


@st.cache_resource(max_entries=32, show_spinner=False)
def cached_night_deck(
    url: str,
    version: tuple[int, ...],
    request: AnyRequest,
    *,
    dark: bool,
    basemap: str | None,
    forecast: tuple[date, str] | None = None,
    services: tuple[date, int, int] | None = None,
) -> pdk.Deck:
    """Return the night map's deck for a request, serialised once (cached like the view);
    with ``forecast`` (night, band), the outreach lead's "expected" layer above; with
    ``services`` (night, start, end), the services open then (public places)."""
    from dashboard.mapping import compact, forecast_layer, night_deck, street_layer, ward_layers
    from dashboard.summary import describe

    view = map_view_of(url, version, request)
    extra = []
    if forecast is not None:
        expected = cached_forecast(url, version, request.role, *forecast)
        extra.append(forecast_layer(expected.cells, dark=dark))
    points = []  # the services: drawn over the figures, dimming none of them
    if services is not None:
        from dashboard.route_map import services_layers

        points = services_layers(services_open(*services), dark=dark)
    deck = night_deck(
        view.cells,
        request.layers,
        res=request.res,
        view=map_view(),
        wards=[
            street_layer(places(url, version).labels(STREET_LABELS), dark=dark),
            *ward_layers(areas(), areas_geojson(), dark=dark),
            *points,
        ],
        names=hexagon_names(url, version, view.cells["cell"]),
        basemap=basemap,
        dark=dark,
        period=describe(request),
        above=extra,
    )
    return compact(deck)


@st.cache_data(max_entries=32, show_spinner="Testing hotspots for significance…")
def cached_hotspots(
    url: str, version: tuple[int, ...], request: AnyRequest, layer: str
) -> HotspotReport:
    """Return ``layer``'s hotspots for ``request`` (cached per store, data version, request):
    computed from the role's published view, the same for everyone asking the same."""
    del url, version  # part of the cache key only
    from streetsafe.hotspots import HotspotParams, hotspot_report

    settings = deployment().settings
    policy = deployment().policies[request.role]
    with reading() as st_:
        return hotspot_report(
            st_, policy, request, study_area(), layer=layer, params=HotspotParams.of(settings)
        )


@st.cache_data(max_entries=32, show_spinner="Forecasting the night…")
def cached_forecast(
    url: str, version: tuple[int, ...], role: str, night: date, band: str
) -> ForecastView:
    """Return the role's forecast for ``night`` and ``band`` (the model is fitted once per data
    version: :func:`streetsafe.forecast.fitted`)."""
    del url, version  # part of the cache key only
    from streetsafe.forecast import forecast_view

    with reading() as st_:
        return forecast_view(
            st_, deployment().policies[role], study_area(), night=night, bands=(band,)
        )


@st.cache_data(max_entries=8, show_spinner="Fitting the forecast to the data…")
def forecast_nights(url: str, version: tuple[int, ...], role: str) -> tuple[date, date]:
    """Return the first and last nights a forecast can be made for: the week after the data's
    last night (fits the model once)."""
    del url, version  # part of the cache key only
    from geo.forecast import LEAD_NIGHTS
    from geo.layers import OUTREACH
    from streetsafe.forecast import fitted

    with reading() as st_:
        panel, _ = fitted(st_, deployment().policies[role], OUTREACH, study_area())
    return panel.last + timedelta(days=1), panel.last + timedelta(days=LEAD_NIGHTS)


@st.cache_resource
def gazetteer() -> Gazetteer:
    """Return the deployment's gazetteer (read once per server)."""
    return Gazetteer.load(deployment().settings.gazetteer)


@st.cache_data(max_entries=8, show_spinner=False)
def cached_services(url: str, version: tuple[int, ...]) -> pd.DataFrame:
    """Return the store's services with their opening hours read (public places)."""
    del url, version  # part of the cache key only
    from streetsafe.services import services_frame

    with reading() as st_:
        return services_frame(st_)


def services_open(night: date, start: int, end: int) -> pd.DataFrame:
    """Return the services open during [start, end) of ``night`` (minutes from its 00:00)."""
    from streetsafe.services import open_services

    services = cached_services(deployment().settings.store, data_version())
    return open_services(services, night, start, end) if len(services) else services


@st.cache_data(max_entries=16, show_spinner="Planning the route (a few seconds)…")
def cached_route(
    url: str, version: tuple[int, ...], role: str, request: RouteRequest
) -> NightRoute:
    """Return ``role``'s planned night for ``request`` (the same for everyone asking the same,
    until the data changes)."""
    from streetsafe.route import night_route

    with reading() as st_:
        return night_route(
            st_,
            deployment().policies[role],
            study_area(),
            deployment().settings,
            request,
            gazetteer=gazetteer(),
            names=places(url, version),
        )
