"""What a page shows, in words: the active filters, the data's coverage, and why a view is empty.

Every page states them under its header and every download carries them, so a figure read
later, or forwarded, still says what it is.
"""

from __future__ import annotations

from datetime import date

import streamlit as st

from dashboard.controls import WEEKDAY_NAMES, category_title
from dashboard.mapping import LAYER_TITLES, group_title
from dashboard.state import coverage_of, deployment
from geo.nights import HourRange
from streetsafe.filters import ReleaseRequest, ViewRequest
from streetsafe.views import Coverage

AnyRequest = ViewRequest | ReleaseRequest


def hours_text(hours: HourRange | None) -> str:
    """Return the hours chosen in words ("22:00 to 04:00", "the whole day")."""
    if hours is None or hours.whole_day:
        return "the whole day"
    start, end = str(hours).split("-")
    return f"{start} to {end}"


def describe(request: AnyRequest) -> str:
    """Return the request's filters in words, e.g. "Friday and Saturday nights · 20:00 to 04:00
    · nights 2025-03-01 to 2025-05-31 · Incidents, Outreach contacts · every category"."""
    layers = ", ".join(LAYER_TITLES[layer].split(" (")[0] for layer in request.layers)
    if isinstance(request, ReleaseRequest):
        if request.first and request.last:
            first, last = f"{request.first:%Y-%m}", f"{request.last:%Y-%m}"
            months = first if first == last else f"{first} to {last}"
        else:
            months = "the latest released months"
        titles = [
            group_title(layer, g)
            for g in request.groups or ()
            for layer in request.layers
            if group_title(layer, g) != g
        ]
        groups = ", ".join(dict.fromkeys(titles)) if titles else "every category group"
        return f"months {months} · the whole day · every night · {layers} · {groups}"
    nights = (
        _and([WEEKDAY_NAMES[d] for d in request.weekdays]) + " nights"
        if request.weekdays
        else "every night"
    )
    span = (
        f"nights {_day(request.date_from)} to {_day(request.date_to)}"
        if request.date_from or request.date_to
        else "all dates"
    )
    categories = (
        ", ".join(category_title(c) for c in request.categories)
        if request.categories
        else "every category"
    )
    return f"{nights} · {hours_text(request.hours)} · {span} · {layers} · {categories}"


def _day(day: date | None) -> str:
    return f"{day:%Y-%m-%d}" if day else "…"


def _and(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def coverage_text(role: str) -> str:
    """Return the role's data coverage in words."""
    return coverage_of(role).text(LAYER_TITLES)


def show_filters(request: AnyRequest) -> None:
    """State the active filters and the data's coverage under a page's header."""
    st.caption(f"**Showing:** {describe(request)}  \n**Coverage:** {coverage_text(request.role)}")


def download_header(title: str, request: AnyRequest) -> str:
    """Return the comment lines a download starts with: what it is, its filters, coverage."""
    policy = deployment().policies[request.role]
    return (
        f"# streetsafe {title} · {policy.title} view\n"
        f"# filters: {describe(request)}\n"
        f"# {coverage_text(request.role)}\n"
    )


def empty_reason(request: AnyRequest) -> str:
    """Return why a view shows nothing: no data in the dates chosen (with the coverage), no
    data at all, or too few people behind the figures (only when that is the reason left)."""
    covered: Coverage = coverage_of(request.role)
    policy = deployment().policies[request.role]
    if covered.empty(request.layers):
        return (
            "No data for these layers yet: "
            + coverage_text(request.role)
            + ". Figures appear once files are loaded"
            + ("." if policy.case_knowledge else " and a month is released.")
        )
    if isinstance(request, ViewRequest):
        first, last = covered.first_night, covered.last_night
        timed = covered.timed(request.layers)
        outside = timed and (
            (request.date_to is not None and first is not None and request.date_to < first)
            or (request.date_from is not None and last is not None and request.date_from > last)
        )
        if outside:
            return (
                f"No records in the nights chosen: the data covers nights {first:%Y-%m-%d} "
                f"to {last:%Y-%m-%d}."
            )
        if not timed and request.hours is not None:
            return (
                "These layers have no time of night (police.uk publishes the month only): "
                "turn on Whole day to see them."
            )
    else:
        spans = [covered.months[layer] for layer in request.layers if layer in covered.months]
        first_shown, last_shown = min(a for a, _ in spans), max(b for _, b in spans)
        if (request.last is not None and request.last < first_shown) or (
            request.first is not None and request.first > last_shown
        ):
            return (
                f"No figures in the months chosen: these layers have figures from "
                f"{first_shown:%Y-%m} to {last_shown:%Y-%m}."
            )
    widen = "dates, nights or hours" if policy.case_knowledge else "months or category groups"
    return (
        f"Nothing to show for these filters: too few people behind the figures (fewer than "
        f"{policy.k} per figure) or no records that match. Widen the {widen}."
    )
