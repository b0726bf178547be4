"""Attacks on the privacy gate as a partner with unlimited queries runs them, and what they win.

    python -m bench.attacks [--store-dir DIR]   # the table in the README's privacy section

An attacker holds one role and asks only what that role can ask (filters, links, exports, the
CLI), as often as they like. Each attack is run twice: against the gate as it was before
releases (live views with any filter, exact figures of what was held back, wards placed by the
stored cell, references counted as written) and against the gate as it is (monthly releases,
nothing exact about what was held back, wards through the role's hexagons, people counted by
letters and digits, anonymous reports as one). The targets are the questions the threat model
forbids: whether a group of fewer than ``k`` people had records in a hexagon in a period, half
of them with records (a coin is right half the time).

The data is the case the attacks were first measured on: one woman with 45 incidents shared
with partners in one resolution-10 cell, alone in its resolution-8 hexagon on her nights; four
other women elsewhere in that hexagon on other nights; a ward boundary cutting the hexagon so
that her cell's centre lies in another ward than the hexagon's; background records around the
town; and another woman whose reports name her three ways beside four anonymous reports.
"""

from __future__ import annotations

import argparse
import io
import json
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Protocol

import h3
import numpy as np
import pandas as pd

from bench import RESULTS
from geo.aggregate import Coded, Contributions, CubeFilter
from geo.hexes import cell_centres, parent_cells
from geo.nights import HourRange
from geo.privacy import PublishedView, RolePolicy, publish
from geo.releases import RELEASE_RES
from geo.wards import Areas
from ingest.pipeline import OPERATOR, IngestSummary, Uploader, ingest_file
from ingest.seal import SealContext
from store import ResidentViews, Store, open_store
from streetsafe.boundaries import load_areas
from streetsafe.deployment import seal_context
from streetsafe.filters import ReleaseRequest
from streetsafe.policies import load_policies
from streetsafe.releases import ReleaseRules, make_releases
from streetsafe.settings import Settings
from streetsafe.views import published_view, release_area_view, release_view

FIRST_MONTH = date(2026, 6, 1)
MONTHS = 3  # June to August 2026
# every month above released; agencies sharing references as the shipped agencies file says
RULES = ReleaseRules.of(Settings.from_env({}), date(2026, 11, 23))
PAIRS = 10  # differencing pairs an attacker averages per target
HER_CATEGORY = "violence"
HEADER = "occurred_at,latitude,longitude,category,severity,agency,person_ref,sharing"
PARTNER_ROLES = ("police_npt", "community_safety")


@dataclass(frozen=True)
class Case:
    """Where the constructed case put her records, and the nights an attacker asks about."""

    x8: int  # her resolution-8 hexagon, cut by a ward boundary
    her10: int  # her resolution-10 cell: its centre lies in another ward than x8's
    sliver_ward: str  # the ward of her cell's centre
    her_nights: dict[date, int]  # her records on each of her nights (alone in x8)
    empty_nights: tuple[date, ...]  # nights with no record in x8, as many, in the same months
    spelt: int  # a resolution-8 hexagon where one woman is named three ways, beside anonymous
    empty_cells: tuple[int, ...]  # hexagons with no record, as many as ``spelt`` is one


@dataclass
class Outcome:
    """How one attack fared on one role: yes/no answers and exact counts."""

    attack: str
    role: str
    defence: bool
    targets: int = 0
    correct: int = 0
    positives: int = 0
    exact: int = 0
    queries: int = 0
    counts: bool = True  # whether the attack estimates a count (else it only says yes or no)

    @property
    def success(self) -> float:
        """Share of targets the attacker answered right (a coin: 0.5)."""
        return self.correct / self.targets if self.targets else 0.0

    @property
    def exact_rate(self) -> float:
        """Share of the groups with records whose exact count the attacker recovered."""
        return self.exact / self.positives if self.positives else 0.0

    def score(self, truth: int, guess: float) -> None:
        """Count one target: ``truth`` records, the attacker's estimate ``guess``."""
        self.targets += 1
        self.correct += int((guess >= 0.5) == (truth > 0))
        if truth > 0:
            self.positives += 1
            self.exact += int(round(guess) == truth)


# --- the constructed case --------------------------------------------------------------------


def choose_cells(areas: Areas) -> tuple[int, int, str]:
    """Return a resolution-8 hexagon near Derby Road cut by a ward boundary, one of its
    resolution-10 cells whose centre lies in another ward, and that ward."""
    centre = h3.latlng_to_cell(50.9112, -1.3932, 8)
    best: tuple[int, str, str, str] | None = None
    for x8 in sorted(h3.grid_disk(centre, 4)):
        ward = areas.of_cells([h3.str_to_int(x8)])[0]
        children = sorted(h3.cell_to_children(x8, 10))
        wards = areas.of_cells([h3.str_to_int(c) for c in children])
        other = [(c, w) for c, w in zip(children, wards, strict=True) if w and w != ward]
        if ward and other and (best is None or len(other) < best[0]):
            best = (len(other), x8, other[0][0], other[0][1])
    assert best is not None, "no hexagon near Derby Road is cut by a ward boundary"
    return h3.str_to_int(best[1]), h3.str_to_int(best[2]), best[3]


def _point(cell: int) -> tuple[float, float]:
    lat, lon = cell_centres([cell])
    return float(lat[0]), float(lon[0])


def build_case(areas: Areas, *, as_written: bool = False) -> tuple[Case, dict[str, bytes]]:
    """Return the case and its incident file (a CSV, as the templates have it).

    ``as_written``: reference each of her spellings and each anonymous report as its own
    person, as the gate counted them before (the baseline of the spellings attack).
    """
    rng = np.random.default_rng(13)
    x8, her10, sliver = choose_cells(areas)
    nights = [FIRST_MONTH + timedelta(days=d) for d in range(92)]
    picked = rng.permutation(len(nights))
    hers = sorted(nights[i] for i in picked[:40])  # 45 incidents on 40 nights
    empty = sorted(nights[i] for i in picked[40:70])
    rows: list[str] = []
    her_nights: dict[date, int] = {}
    lat, lon = _point(her10)
    for i, night in enumerate(hers):
        her_nights[night] = 2 if i % 8 == 0 else 1
        for j in range(her_nights[night]):
            rows.append(_row(night, (23, 10 + 20 * j), (lat, lon), HER_CATEGORY, "W-HER"))
    # four other women elsewhere in x8 (cells whose centres are in x8's own ward), together on
    # the other nights: the padding that keeps x8 published
    x8_ward = areas.of_cells([x8])[0]
    children = [h3.str_to_int(c) for c in sorted(h3.cell_to_children(h3.int_to_str(x8), 10))]
    own = [c for c, w in zip(children, areas.of_cells(children), strict=True) if w == x8_ward]
    for night in (n for n in nights if n not in her_nights and n not in empty):
        for w in range(4):
            point = _point(own[(w * 7) % len(own)])
            rows.append(_row(night, (22, 5 * w), point, "threats", f"W-OTHER-{w}"))
    rows += _background(rng, areas, sliver, x8, nights)
    spelt, empty_cells = _spelt_cells(x8, areas)
    rows += _spelt_rows(spelt, as_written=as_written)
    # as many nights without a record in x8 as nights with hers, to ask about
    balanced = tuple(empty[: len(empty)])
    mine = dict(list(her_nights.items())[: len(balanced)])
    case = Case(x8, her10, sliver, mine, balanced, spelt, empty_cells)
    text = "\n".join([HEADER, *rows]) + "\n"
    return case, {"incidents": text.encode()}


def _row(
    night: date, at: tuple[int, int], point: tuple[float, float], category: str, ref: str
) -> str:
    """One incident shared with partners: on ``night`` at ``at`` (hour, minute), at ``point``."""
    hour, minute = at
    day = night + timedelta(days=1) if hour < 12 else night  # small hours: the next day
    lat, lon = point
    when = f"{day:%Y-%m-%d} {hour:02d}:{minute:02d}"
    return f"{when},{lat:.6f},{lon:.6f},{category},high,Police NPT,{ref},partners"


def _background(
    rng: np.random.Generator, areas: Areas, sliver: str, x8: int, nights: list[date]
) -> list[str]:
    """Records of a dozen women around the town, some in the sliver's ward (so that ward and
    the town are published, and the attacker has padding to difference against)."""
    rows = []
    idx = areas.codes.index(sliver)
    sliver_centre = areas.geometries[idx].representative_point()
    spots = [(sliver_centre.y, sliver_centre.x), (50.9052, -1.3962), (50.9168, -1.3938)]
    for w in range(12):
        lat0, lon0 = spots[w % len(spots)]
        for night in nights[w::3]:
            lat = lat0 + rng.normal(0, 0.0008)
            lon = lon0 + rng.normal(0, 0.0012)
            if h3.str_to_int(h3.latlng_to_cell(lat, lon, 8)) == x8:
                continue
            rows.append(_row(night, (21, w), (lat, lon), "robbery", f"W-TOWN-{w}"))
    return rows


def _spelt_cells(x8: int, areas: Areas) -> tuple[int, tuple[int, ...]]:
    """Return a hexagon in town for the spelt-three-ways woman, and five others left empty."""
    ring = sorted(h3.str_to_int(c) for c in h3.grid_ring(h3.int_to_str(x8), 6))
    in_town = [c for c, ward in zip(ring, areas.of_cells(ring), strict=True) if ward]
    return in_town[0], tuple(in_town[1:6])


def _spelt_rows(cell: int, *, as_written: bool) -> list[str]:
    point = _point(cell)
    rows = []
    spellings = ["AB-17", "AB17", "A.B. 17"]
    for i, night in enumerate(FIRST_MONTH + timedelta(days=d) for d in range(0, 70, 5)):
        ref = spellings[i % 3]
        if as_written:
            ref = f"SPELT-{i % 3}"
        rows.append(_row(night, (1, i), point, "sexual_assault", ref))
    for i in range(4):
        ref = f"ANON-{i}" if as_written else ""
        night = FIRST_MONTH + timedelta(days=3 + 11 * i)
        rows.append(_row(night, (2, i), point, "threats", ref))
    return rows


def load_case(store: Store, ctx: SealContext, areas: Areas, *, as_written: bool = False) -> Case:
    """Ingest the constructed case into ``store`` and release its months, as the operator
    would once they have closed; return where it put her records."""
    case, files = build_case(areas, as_written=as_written)
    for kind, data in files.items():
        summary = ingest_file(store, kind, io.BytesIO(data), ctx=ctx, source=f"{kind}.csv")
        assert summary.rejected == 0, summary.rejects.head()
    make_releases(store, RULES)
    return case


# --- what each role can ask ------------------------------------------------------------------


class Door(Protocol):
    """What an attacker in one role can ask, whatever they ask it with."""

    queries: int

    def pairs(self, night: date, n: int) -> Iterator[tuple[Any, Any]]:
        """Return ``n`` pairs of questions (with ``night``, without it) whose records differ by
        that night alone, as nearly as the role's questions allow."""

    def cell(self, question: Any, cell: int) -> float:
        """Return the figure a question shows for ``cell`` (or the hexagon it was merged
        into), 0 when none is shown."""

    def ward(self, question: Any, ward: str) -> float:
        """Return the figure a question's ward table shows for ``ward`` (0: none)."""

    def held_back(self, night: date, hours: HourRange | None) -> float | None:
        """Return the exact figure of what was held back for a night's records, or None."""


@dataclass(frozen=True)
class LiveQuestion:
    first: date
    last: date
    weekdays: tuple[int, ...] | None
    hours: HourRange | None
    categories: tuple[str, ...] | None


@dataclass
class LiveDoor:
    """The gate before releases: any filter, exact held-back figures, wards by stored cell."""

    store: ResidentViews
    policy: RolePolicy
    areas: Areas
    queries: int = 0
    _seen: dict[Any, PublishedView] = field(default_factory=dict)

    def pairs(self, night: date, n: int) -> Iterator[tuple[LiveQuestion, LiveQuestion]]:
        wd = (night.weekday() + 0) % 7
        for i in range(n):
            last = night + timedelta(days=2 + 3 * i)
            weekdays = None if i % 3 == 0 else tuple(sorted({wd, (wd + i) % 7, (wd + 2 * i) % 7}))
            hours = [None, HourRange(18 * 60, 6 * 60), HourRange(20 * 60, 2 * 60)][i % 3]
            cats = None if i % 2 == 0 else (HER_CATEGORY, "threats", "robbery")
            yield (
                LiveQuestion(night, last, weekdays, hours, cats),
                LiveQuestion(night + timedelta(days=1), last, weekdays, hours, cats),
            )

    def _view(self, q: LiveQuestion) -> PublishedView:
        if q not in self._seen:
            self.queries += 1
            f = CubeFilter(
                layers=("incident",),
                date_from=q.first,
                date_to=q.last,
                weekdays=q.weekdays,
                hours=q.hours,
                categories=q.categories,
            )
            self._seen[q] = published_view(self.store, self.policy, f, res=self.policy.finest_res)
        return self._seen[q]

    def cell(self, question: LiveQuestion, cell: int) -> float:
        return _cell_value(self._view(question).cells, cell, self.policy.finest_res)

    def ward(self, question: LiveQuestion, ward: str) -> float:
        self.queries += 1
        view = _wards_by_stored_cell(self.store, self.policy, question, self.areas)
        row = view.cells[view.cells["area"] == ward]
        return float(row["value"].sum())

    def held_back(self, night: date, hours: HourRange | None) -> float | None:
        self.queries += 1
        f = CubeFilter(
            layers=("incident",),
            date_from=night,
            date_to=night,
            hours=hours,
            categories=(HER_CATEGORY,),  # an attacker tries each category; hers answers
        )
        return float(published_view(self.store, self.policy, f, res=8).suppressed_groups)


def _wards_by_stored_cell(
    store: ResidentViews, policy: RolePolicy, q: LiveQuestion, areas: Areas
) -> PublishedView:
    """The ward table as it was: each record placed by its stored (resolution-10) cell."""
    f = CubeFilter(
        layers=("incident",),
        date_from=q.first,
        date_to=q.last,
        weekdays=q.weekdays,
        hours=q.hours,
        categories=q.categories,
        sharing=policy.sharing,
    )
    cells = store.cube(f, res=store.storage_res)
    assert cells.cell is not None
    distinct, where = np.unique(cells.cell, return_inverse=True)
    of = Coded.of(pd.Series(areas.of_cells(distinct), dtype="str"))
    area = Coded(of.codes[where], of.values)
    keep = np.flatnonzero(area.codes >= 0)
    by_area = Contributions(
        keys={"layer": cells.keys["layer"], "area": area},
        cell=None,
        person=cells.person,
        n=cells.n,
        keysum=cells.keysum,
    ).take(keep)
    return publish(by_area, policy, res=policy.finest_res, by=("area",))


@dataclass(frozen=True)
class ReleaseQuestion:
    first: date
    last: date
    layers: tuple[str, ...]
    groups: tuple[str, ...] | None
    res: int


@dataclass
class ReleaseDoor:
    """The gate as it is: whole months, layers, category groups, resolutions; nothing more."""

    store: Store
    policy: RolePolicy
    areas: Areas
    queries: int = 0
    _seen: dict[Any, PublishedView] = field(default_factory=dict)

    def pairs(
        self, night: date, n: int
    ) -> Iterator[tuple[ReleaseQuestion, ReleaseQuestion | None]]:
        month = night.replace(day=1)
        layer_sets = [("incident",), ("incident", "asb"), ("incident", "asb", "policeuk")]
        group_sets: list[tuple[str, ...] | None] = [None, ("harm",), ("harm", "buyers")]
        for i in range(n):
            span = i % 3  # the months after hers that pad both questions
            last = _add_months(month, span)
            layers = layer_sets[i % 3]
            groups = group_sets[(i // 3) % 3]
            res = 8 if i % 2 == 0 else 7
            with_hers = ReleaseQuestion(month, last, layers, groups, res)
            without = None if span == 0 else replace(with_hers, first=_add_months(month, 1))
            yield with_hers, without

    def _view(self, q: ReleaseQuestion) -> PublishedView:
        if q not in self._seen:
            self.queries += 1
            request = ReleaseRequest(self.policy.name, q.res, q.layers, q.first, q.last, q.groups)
            self._seen[q] = release_view(self.store, self.policy, request)
        return self._seen[q]

    def cell(self, question: ReleaseQuestion | None, cell: int) -> float:
        if question is None:
            return 0.0
        at = int(parent_cells(np.array([cell]), question.res)[0])
        return _cell_value(self._view(question).cells, at, question.res)

    def ward(self, question: ReleaseQuestion | None, ward: str) -> float:
        if question is None:
            return 0.0
        self.queries += 1
        request = ReleaseRequest(
            self.policy.name, 8, question.layers, question.first, question.last, question.groups
        )
        view = release_area_view(self.store, self.policy, request, self.areas)
        return float(view.cells.loc[view.cells["area"] == ward, "value"].sum())

    def held_back(self, night: date, hours: HourRange | None) -> float | None:
        return None  # no figure says what a release left out


def _add_months(month: date, n: int) -> date:
    index = month.year * 12 + month.month - 1 + n
    return date(index // 12, index % 12 + 1, 1)


def _cell_value(cells: pd.DataFrame, cell: int, res: int) -> float:
    """The figure shown for ``cell``, or for the merged hexagon holding it; 0 if none."""
    if cells.empty:
        return 0.0
    incident = cells[cells["layer"] == "incident"]
    for level in range(res, res - 3, -1):
        at = int(parent_cells(np.array([cell]), level)[0])
        hit = incident[(incident["cell"] == at) & (incident["resolution"] == level)]
        if len(hit):
            return float(hit["value"].sum())
    return 0.0


# --- the attacks -----------------------------------------------------------------------------


def averaging(door: Door, case: Case, role: str, defence: bool) -> Outcome:
    """Average many differencing pairs, each padded differently, to estimate one night's
    records in her hexagon: v(S + T) - v(S) = |T| + e1 - e2, the noise averaging away."""
    out = Outcome("averaging re-sliced pairs", role, defence)
    targets = [*case.her_nights.items(), *((n, 0) for n in case.empty_nights)]
    for night, truth in targets:
        diffs = [
            door.cell(w, case.x8) - door.cell(wo, case.x8) for w, wo in door.pairs(night, PAIRS)
        ]
        out.score(truth, float(np.mean(diffs)))
    out.queries = door.queries
    return out


def bisection(door: Door, case: Case, role: str, defence: bool) -> Outcome:
    """Read the exact figure of what was held back, night by night, and bisect the hours to
    count her records: an exact figure is a look with no noise at all."""
    out = Outcome("held-back bisection", role, defence)
    targets = [*case.her_nights.items(), *((n, 0) for n in case.empty_nights)]
    for night, truth in targets:
        held = door.held_back(night, None)
        if held is None:  # nothing to read: the attacker can only guess
            out.score(truth, 0.0)
            continue
        out.score(truth, float(_minutes_held(door, night, 0, 24 * 60)) if held else 0.0)
    out.queries = door.queries
    return out


def _minutes_held(door: Door, night: date, start: int, end: int) -> int:
    """Count the minutes of ``night`` in [start, end) with a record held back, by halving."""
    if not door.held_back(night, HourRange(start, end % (24 * 60)) if end - start < 1440 else None):
        return 0
    if end - start <= 1:
        return 1
    middle = (start + end) // 2
    return _minutes_held(door, night, start, middle) + _minutes_held(door, night, middle, end)


def ward_sliver(door: Door, case: Case, role: str, defence: bool) -> Outcome:
    """Difference the ward table to place her records in the sliver of her hexagon that lies
    in another ward: a place finer than any hexagon the role is shown."""
    out = Outcome("ward sliver", role, defence)
    targets = [*case.her_nights.items(), *((n, 0) for n in case.empty_nights)]
    for night, truth in targets:
        diffs = [
            door.ward(w, case.sliver_ward) - door.ward(wo, case.sliver_ward)
            for w, wo in door.pairs(night, PAIRS)
        ]
        out.score(truth, float(np.mean(diffs)))
    out.queries = door.queries
    return out


def spellings(door: Door, case: Case, role: str, defence: bool) -> Outcome:
    """Look for a hexagon where one woman, named three ways beside anonymous reports about
    her, is published as if she were several people."""
    out = Outcome("spellings and anonymous reports", role, defence, counts=False)
    first, last = FIRST_MONTH, _add_months(FIRST_MONTH, MONTHS - 1)
    widest = door_widest(door, first, last)
    targets = [(case.spelt, 18), *((c, 0) for c in case.empty_cells)]
    weights = [5] + [1] * len(case.empty_cells)  # as many hexagons with her as without
    for (cell, truth), weight in zip(targets, weights, strict=True):
        shown = door.cell(widest, cell)
        for _ in range(weight):
            out.score(truth, 1.0 if shown > 0 else 0.0)
    out.queries = door.queries
    return out


def door_widest(door: Door, first: date, last: date) -> Any:
    """The question showing the most: every month, every layer and group, the finest hexagons."""
    if isinstance(door, ReleaseDoor):
        return ReleaseQuestion(first, last, door.policy.layers, None, door.policy.finest_res)
    return LiveQuestion(first, last + timedelta(days=31), None, None, None)


# --- attacks through uploads ------------------------------------------------------------------
# These need a store of their own each (a release is made once), so they take an empty store
# and the deployment's seal context. "Before" is an upload as every upload was before the red
# team's findings: counted with the trusted sources' records and deduplicated against every
# record.

UPLOAD_MONTH = date(2026, 3, 1)  # a month the constructed case leaves empty
PLANTED_HER = 6  # records of the one real woman in a hexagon the planting attacks look for
UPLOAD_TARGETS = 40  # hexagons the upload attacks ask about, half with records


# The agency each partner role uploads as: the dashboard stamps it on every row of a file.
PARTNER_AGENCY = {"police_npt": "Police NPT", "community_safety": "Community safety"}


def partner_uploader(role: str, *, defence: bool) -> Uploader:
    """Who uploads the attacker's files. Before the defences, a file counted and deduplicated
    with the operator's, its rows naming the agency the real records name; after, the
    dashboard's upload for the role's agency: every row stamped with it (a row naming
    another agency is rejected), its records a pool of their own."""
    if not defence:
        return Uploader("community_safety", trusted=True)
    agency = PARTNER_AGENCY[role]
    return Uploader(agency, trusted=False, agency=agency)


def _named(uploader: Uploader) -> str:
    """The agency the attacker's rows name: the real records' where it may (before the
    defences), else none (the row is stamped with its own; naming another is refused)."""
    return "" if uploader.agency else "Outreach team"


def planting(store: Store, ctx: SealContext, areas: Areas, role: str, defence: bool) -> Outcome:
    """Upload ``k - 1`` invented women into each of two dozen hexagons, under the agency the
    real records name where it may, so that a hexagon crosses ``k`` exactly where one real woman has
    records: the released map would then say which hexagons held her (half of them)."""
    out = Outcome("planting k-1 invented women", role, defence, counts=False)
    shown = _plant(store, ctx, areas, role, defence=defence, fakes=load_policies()[role].k - 1)
    for i, (_, value) in enumerate(shown):
        out.score(PLANTED_HER if i % 2 == 0 else 0, 1.0 if value > 0 else 0.0)
    out.queries = 2
    return out


def planting_k(store: Store, ctx: SealContext, areas: Areas, role: str, defence: bool) -> Outcome:
    """Upload ``k`` invented women (three records each) into each hexagon, so that every one is
    published whatever else is there, and subtract the records planted: what is left is the
    real records in the hexagon, under k people or not."""
    out = Outcome("planting k invented women", role, defence)
    k = load_policies()[role].k
    shown = _plant(store, ctx, areas, role, defence=defence, fakes=k)
    for i, (_, value) in enumerate(shown):
        left = value - 3 * k  # her records, plus the noise: under 3 is taken for noise alone
        out.score(PLANTED_HER if i % 2 == 0 else 0, left if left >= 3 else 0.0)
    out.queries = 2
    return out


def planted_values(
    store: Store, ctx: SealContext, areas: Areas, role: str, *, real: bool
) -> list[tuple[int, float]]:
    """What ``role`` is shown in each target after a partner planted ``k`` women in it: with
    the real woman in half of them, or (``real=False``) in none."""
    return _plant(store, ctx, areas, role, defence=True, fakes=load_policies()[role].k, real=real)


def _plant(
    store: Store,
    ctx: SealContext,
    areas: Areas,
    role: str,
    *,
    defence: bool,
    fakes: int,
    real: bool = True,
) -> list[tuple[int, float]]:
    """Ingest one real woman (six records) into every other target hexagon, then a partner's
    file of ``fakes`` invented women in every target, release the month and return each
    target's released value (0 where none is shown). ``real=False``: she is in none."""
    targets = town_cells(areas, ctx, UPLOAD_TARGETS)
    hers = [
        _upload_row((UPLOAD_MONTH.replace(day=3 + r), 23), cell, 3, f"T{i}")
        for i, cell in enumerate(targets[::2])
        for r in range(PLANTED_HER)
    ]
    if real:
        _ingest_all(store, ctx, hers, OPERATOR)
    partner = partner_uploader(role, defence=defence)
    planted = [
        _upload_row(
            (UPLOAD_MONTH.replace(day=10 + r), 3), cell, 4, f"FAKE{i}-{w}", agency=_named(partner)
        )
        for i, cell in enumerate(targets)
        for w in range(fakes)
        for r in range(3)
    ]
    _ingest_all(store, ctx, planted, partner)
    request = ReleaseRequest(role, RELEASE_RES, ("incident",), UPLOAD_MONTH, UPLOAD_MONTH)
    make_releases(store, RULES)  # the operator, at the month's end
    cells = release_view(store, load_policies()[role], request).cells
    values = dict(zip(cells["cell"], cells["value"], strict=True))
    return [(cell, float(values.get(cell, 0))) for cell in targets]


def duplicate_count(
    store: Store, ctx: SealContext, areas: Areas, role: str, defence: bool
) -> Outcome:
    """Upload guesses of other agencies' records, half of them real, and read the summary's
    "already stored": a duplicate says the record exists."""
    out = Outcome("guesses read from 'already stored'", role, defence, counts=False)
    cells = town_cells(areas, ctx, UPLOAD_TARGETS)

    def row(i: int, cell: int, ref: str, agency: str = "Outreach team") -> str:
        at = (UPLOAD_MONTH.replace(day=1 + i % 28), 22)
        return _upload_row(at, cell, 2, ref, sharing="outreach_only", agency=agency)

    secret = [row(i, cell, f"S{i}") for i, cell in enumerate(cells) if i % 2 == 0]
    _ingest_all(store, ctx, secret, OPERATOR)
    partner = partner_uploader(role, defence=defence)
    for i, cell in enumerate(cells):
        # a real record, copied as closely as the upload accepts; or one made up
        guess = row(i, cell, f"S{i}" if i % 2 == 0 else f"G{i}", _named(partner))
        summary = _ingest_all(store, ctx, [guess], partner)
        out.score(1 if i % 2 == 0 else 0, float(summary.duplicates))
        out.queries += 1
    return out


def town_cells(areas: Areas, ctx: SealContext, n: int) -> list[int]:
    """``n`` resolution-8 hexagons around Derby Road, each wholly inside the study area."""
    from shapely.geometry import Polygon

    ring = sorted(h3.grid_disk(h3.latlng_to_cell(50.9112, -1.3932, RELEASE_RES), 7))
    cells = [h3.str_to_int(c) for c in ring]
    in_wards = [c for c, w in zip(cells, areas.of_cells(cells), strict=True) if w]
    town = ctx.study_area.geometry
    return [
        c
        for c in in_wards
        if town.contains(Polygon([(x, y) for y, x in h3.cell_to_boundary(h3.int_to_str(c))]))
    ][:n]


def _upload_row(
    at: tuple[date, int],
    cell: int,
    child: int,
    ref: str,
    *,
    sharing: str = "partners",
    agency: str = "Outreach team",
) -> str:
    """One incident on ``at`` (day, hour) at the centre of ``cell``'s ``child``-th
    resolution-10 cell, named by ``agency`` (none: the uploader's)."""
    day, hour = at
    children = sorted(h3.cell_to_children(h3.int_to_str(cell), 10))
    lat, lon = h3.cell_to_latlng(children[child % len(children)])
    when = f"{day:%Y-%m-%d} {hour:02d}:10"
    return f"{when},{lat:.6f},{lon:.6f},violence,high,{agency},{ref},{sharing}"


def _ingest_all(
    store: Store, ctx: SealContext, rows: list[str], uploader: Uploader
) -> IngestSummary:
    data = io.BytesIO("\n".join([HEADER, *rows]).encode())
    summary = ingest_file(store, "incidents", data, ctx=ctx, source="upload.csv", uploader=uploader)
    assert summary.rejected == 0, summary.rejects.head()
    return summary


UPLOAD_ATTACKS: dict[str, Callable[[Store, SealContext, Areas, str, bool], Outcome]] = {
    "planting": planting,
    "planting_k": planting_k,
    "duplicates": duplicate_count,
}


ATTACKS: dict[str, Callable[[Door, Case, str, bool], Outcome]] = {
    "averaging": averaging,
    "bisection": bisection,
    "wards": ward_sliver,
    "spellings": spellings,
}


# --- what the defence costs users ------------------------------------------------------------


@dataclass
class Cost:
    """What a role's default view shows of the records and people behind it, before and after."""

    role: str
    records: int
    people: int
    shown_records: tuple[int, int]  # before, after
    shown_people: tuple[int, int]
    hotspots: tuple[int, int]  # of the demo's five hotspots, how many its map shows


def costs(store: Store, role: str, months: list[date]) -> Cost:
    """Compare ``role``'s default view of ``months`` (its first layers, the whole day, the
    finest hexagons) before releases and after."""
    policy = load_policies()[role]
    first, last = months[0], _add_months(months[-1], 1) - timedelta(days=1)
    f = CubeFilter(
        layers=policy.default_layers, sharing=policy.sharing, date_from=first, date_to=last
    )
    cube = store.cube(f, res=policy.finest_res)
    # the live view of these very rows (shown_rows indexes them: a second query's rows may come
    # in another order)
    live = publish(cube, replace(policy, case_knowledge=True), res=policy.finest_res)
    assert live.shown_rows is not None
    request = ReleaseRequest(role, policy.finest_res, policy.default_layers, months[0], months[-1])
    released = release_view(store, policy, request)
    after = _released_rows(store, policy, months)
    named = cube.person >= 0
    before_rows = np.zeros(len(cube), dtype=bool)
    before_rows[live.shown_rows] = True
    return Cost(
        role=role,
        records=int(cube.n.sum()),
        people=int(np.unique(cube.person[named]).size),
        shown_records=(int(cube.n[before_rows].sum()), after[0]),
        shown_people=(int(np.unique(cube.person[named & before_rows]).size), after[1]),
        hotspots=(_hotspots_shown(live.cells), _hotspots_shown(released.cells)),
    )


def _released_rows(store: Store, policy: RolePolicy, months: list[date]) -> tuple[int, int]:
    """Records and distinct people behind the released values ``policy``'s role is shown."""
    from geo.releases import DIMENSIONS, PLACES, shown_groups

    values = store.release_values(list(store.release_ids().values()))
    records, people = 0, set()
    for month in months:
        last = _add_months(month, 1) - timedelta(days=1)
        f = CubeFilter(
            layers=policy.default_layers, sharing=policy.sharing, date_from=month, date_to=last
        )
        cube = store.contributions(f, res=policy.finest_res, by=DIMENSIONS[PLACES])
        of_month = values[(values["month"] == month) & (values["table"] == PLACES)]
        kept = shown_groups(of_month, policy)[["layer", "cell", "category_group"]]
        rows = cube.merge(kept, on=["layer", "cell", "category_group"])
        records += int(rows["n"].sum())
        people |= set(rows["person"].dropna().astype(np.int64))
    return records, len(people)


def _hotspots_shown(cells: pd.DataFrame) -> int:
    from streetsafe.demo import HOTSPOTS

    shown = 0
    for spot in HOTSPOTS:
        cell = h3.str_to_int(h3.latlng_to_cell(spot.lat, spot.lon, 8))
        at = [int(parent_cells(np.array([cell]), level)[0]) for level in (8, 7, 6)]
        hit = bool((cells["cell"].isin(at) & (cells["value"] > 0)).any())
        shown += int(hit)
    return shown


# --- running ---------------------------------------------------------------------------------


def doors(store: Store, role: str, areas: Areas) -> tuple[LiveDoor, ReleaseDoor]:
    """The role's doors before and after releases (the before as a live, case-knowing view)."""
    policy = load_policies()[role]
    live = replace(policy, case_knowledge=True)
    resident = ResidentViews(store, max_rows=10_000_000)
    return LiveDoor(resident, live, areas), ReleaseDoor(store, policy, areas)


def run_attacks(store: Store, written: Store, case: Case, role: str, areas: Areas) -> list[Outcome]:
    """Run every attack on ``role``: before (``written``, the store as references were
    counted before) and after (``store``)."""
    out = []
    for name, attack in ATTACKS.items():
        before_store = written if name == "spellings" else store
        live, _ = doors(before_store, role, areas)
        _, released = doors(store, role, areas)
        out.append(attack(live, case, role, False))
        out.append(attack(released, case, role, True))
    return out


def run_upload_attacks(folder: Path, ctx: SealContext, role: str, areas: Areas) -> list[Outcome]:
    """Run every upload attack on ``role``, before and after, each in a new store in ``folder``."""
    out = []
    for name, attack in UPLOAD_ATTACKS.items():
        for defence in (False, True):
            path = folder / f"{name}-{role}-{'after' if defence else 'before'}.duckdb"
            with open_store(str(path), storage_res=10) as store:
                out.append(attack(store, ctx, areas, role, defence))
    return out


def main() -> None:
    """Command-line entry point: attack each partner role on the constructed case, then
    measure what the defence costs on the demo data."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store-dir", type=Path, default=None)
    args = parser.parse_args()
    settings = Settings.from_env({}, pseudonym_key="a7" * 32)
    ctx = seal_context(settings)
    areas = load_areas(settings.wards)
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.store_dir or Path(tmp)
        with (
            open_store(str(folder / "case.duckdb"), storage_res=10) as store,
            open_store(str(folder / "written.duckdb"), storage_res=10) as written,
        ):
            case = load_case(store, ctx, areas)
            load_case(written, ctx, areas, as_written=True)
            results = [
                outcome
                for role in PARTNER_ROLES
                for outcome in run_attacks(store, written, case, role, areas)
            ]
            for role in PARTNER_ROLES:
                results += run_upload_attacks(folder, ctx, role, areas)
        _print(results)
        with open_store(str(folder / "demo.duckdb"), storage_res=10) as demo:
            _load_demo(demo, ctx)
            months = [date(2026, 8, 1), date(2026, 9, 1), date(2026, 10, 1)]
            spent = [costs(demo, role, months) for role in PARTNER_ROLES]
        _print_costs(spent)
    RESULTS.mkdir(parents=True, exist_ok=True)
    rows = [o.__dict__ | {"success": o.success, "exact_rate": o.exact_rate} for o in results]
    out = {"attacks": rows, "costs": [c.__dict__ for c in spent]}
    (RESULTS / "attacks.json").write_text(json.dumps(out, indent=2, default=str))


def _load_demo(store: Store, ctx: SealContext) -> None:
    from streetsafe.demo import generate_demo

    files = generate_demo(end=date(2026, 10, 31))
    for kind in ("incidents", "outreach", "asb"):
        ingest_file(store, kind, io.BytesIO(getattr(files, kind)), ctx=ctx, source=kind)
    make_releases(store, RULES)


def _print_costs(spent: list[Cost]) -> None:
    print()
    print("default partner view, August to October 2026 on the demo data (before -> after):")
    for c in spent:
        print(
            f"{c.role:<17} records {_share(c.shown_records[0], c.records)} -> "
            f"{_share(c.shown_records[1], c.records)} of {c.records:,}; people "
            f"{_share(c.shown_people[0], c.people)} -> {_share(c.shown_people[1], c.people)} "
            f"of {c.people}; hotspots {c.hotspots[0]} -> {c.hotspots[1]} of 5"
        )


def _share(part: int, whole: int) -> str:
    return f"{part / whole:.0%}" if whole else "-"


def _print(results: list[Outcome]) -> None:
    """Print the table: for each role and attack, the attacker's yes/no success and exact
    counts recovered, before releases and after."""
    print(
        f"{'role':<17} {'attack':<32} {'before: right':>14} {'exact':>6} {'after: right':>13} "
        f"{'exact':>6} {'questions':>10}"
    )
    for before, after in zip(results[::2], results[1::2], strict=True):
        print(
            f"{before.role:<17} {before.attack:<32} {before.success:>14.0%} "
            f"{_exact(before):>6} {after.success:>13.0%} {_exact(after):>6} "
            f"{before.queries + after.queries:>10,}"
        )


def _exact(outcome: Outcome) -> str:
    return f"{outcome.exact_rate:.0%}" if outcome.counts else "-"


if __name__ == "__main__":
    main()
