"""Sidebar filters, kept in the page's link (``st.query_params``) so a view can be shared."""

from __future__ import annotations

from datetime import date
from typing import Any

import streamlit as st

from dashboard.state import current_viewer, deployment, released_months
from geo.errors import StreetsafeError
from geo.layers import CATEGORY_GROUPS
from geo.nights import WEEKDAYS
from ingest.kinds import KIND_BY_LAYER
from streetsafe.filters import ReleaseRequest, ViewRequest, parse_request
from streetsafe.messages import user_message

NIGHT_HOURS = [f"{h:02d}:00" for h in (*range(18, 24), *range(7))]  # 18:00 … 06:00
DEFAULT_HOURS = ("22:00", "04:00")
WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def controls(role: str, *, with_resolution: bool = True) -> ViewRequest | ReleaseRequest:
    """Draw the role's filters in the sidebar: live ones for a role with case knowledge, a
    partner's release filters (months, layers, category groups) for any other."""
    if deployment().policies[role].case_knowledge:
        return view_controls(role, with_resolution=with_resolution)
    return release_controls(role, with_resolution=with_resolution)


def _from_link(role: str) -> ViewRequest:
    """Return the request the link describes, or the role's defaults if it describes none."""
    qp = st.query_params
    default = ",".join(deployment().policies[role].default_layers) or None
    try:
        return _live(
            deployment().policies,
            role=role,
            res=qp.get("res"),
            layers=qp.get("layers") or default,
            hours=qp.get("hours", "22-04"),
            weekdays=qp.get("weekdays"),
            date_from=qp.get("from"),
            date_to=qp.get("to"),
            categories=qp.get("categories"),
        )
    except StreetsafeError as exc:
        st.sidebar.warning(f"The link's filters were not used: {user_message(exc)}")
        return _live(deployment().policies, role=role, hours="22-04", layers=default)


def _live(*args: Any, **kwargs: Any) -> ViewRequest:
    request = parse_request(*args, **kwargs)
    assert isinstance(request, ViewRequest)  # a role with case knowledge
    return request


def view_controls(role: str, *, with_resolution: bool = True) -> ViewRequest:
    """Draw the filters in the sidebar; return the checked request and update the link."""
    policy = deployment().policies[role]
    start = _from_link(role)
    side = st.sidebar
    side.subheader("Filters")

    whole_day = side.toggle("Whole day", value=start.hours is None, key="whole_day")
    hours_text = None
    if not whole_day:
        begin, end = DEFAULT_HOURS
        if start.hours is not None:
            begin = f"{start.hours.start // 60:02d}:00"
            end = f"{start.hours.end // 60 % 24:02d}:00"
        if begin not in NIGHT_HOURS or end not in NIGHT_HOURS:
            begin, end = DEFAULT_HOURS
        begin, end = side.select_slider(
            "Time of night",
            options=NIGHT_HOURS,
            value=(begin, end),
            key="hours",
            help="Wraps midnight: 22:00 to 04:00 is one range.",
        )
        if begin != end:
            hours_text = f"{begin[:2]}-{end[:2]}"

    default_days = [WEEKDAY_NAMES[d] for d in start.weekdays] if start.weekdays else []
    days = side.multiselect(
        "Nights of the week",
        WEEKDAY_NAMES,
        default=default_days,
        key="weekdays",
        help="A night is named for its evening: 02:30 on a "
        "Saturday belongs to Friday night. Empty: every night.",
    )

    dates = side.date_input(
        "Nights from, to",
        value=[start.date_from, start.date_to] if start.date_from and start.date_to else [],
        key="dates",
        format="YYYY-MM-DD",
    )
    layer_titles = {layer: KIND_BY_LAYER[layer].title for layer in policy.layers}
    layers = side.multiselect(
        "Layers",
        list(policy.layers),
        default=list(start.layers),
        key="layers",
        format_func=lambda layer: layer_titles[layer],
    ) or list(policy.layers)
    categories = sorted({c for layer in layers for c in KIND_BY_LAYER[layer].categories})
    chosen = side.multiselect(
        "Categories",
        categories,
        default=[c for c in start.categories or () if c in categories],
        key="categories",
        help="Empty: every category.",
    )
    res = start.res
    if with_resolution:
        res = side.slider(
            "Hexagon size (H3 resolution; higher is smaller)",
            min_value=6,
            max_value=policy.finest_res,
            value=start.res,
            key="res",
        )
    date_from, date_to = _dates(dates)
    request = _live(
        deployment().policies,
        role=role,
        res=res,
        layers=",".join(layers),
        hours=hours_text,
        weekdays=",".join(WEEKDAYS[WEEKDAY_NAMES.index(d)] for d in days) or None,
        date_from=date_from.isoformat() if date_from else None,
        date_to=date_to.isoformat() if date_to else None,
        categories=",".join(chosen) or None,
    )
    _to_link(request, whole_day=whole_day)
    return request


def _dates(value: object) -> tuple[date | None, date | None]:
    if isinstance(value, tuple | list) and len(value) == 2:
        return value[0], value[1]
    return None, None


def _to_link(request: ViewRequest | ReleaseRequest, *, whole_day: bool = False) -> None:
    params = request.query_params()
    if not current_viewer().demo:
        params.pop("role")  # a signed-in role comes from sign-in, never from a link
    if whole_day:
        params["hours"] = "00-24"
    if dict(st.query_params) != params:
        st.query_params.from_dict(params)


# --- partner roles: monthly releases ---------------------------------------------------------


def release_controls(role: str, *, with_resolution: bool = True) -> ReleaseRequest:
    """Draw a partner's filters (whole released months, layers, category groups, hexagon size);
    return the checked request and update the link."""
    policy = deployment().policies[role]
    start = _release_from_link(role)
    months = released_months()
    side = st.sidebar
    side.subheader("Filters")
    first = last = None
    if months:
        labels = [f"{m:%Y-%m}" for m in months]
        default = (start.first, start.last) if start.first and start.last else None
        chosen = (
            (f"{default[0]:%Y-%m}", f"{default[1]:%Y-%m}")
            if default and f"{default[0]:%Y-%m}" in labels and f"{default[1]:%Y-%m}" in labels
            else (labels[max(0, len(labels) - 3)], labels[-1])
        )
        first, last = side.select_slider(
            "Months",
            options=labels,
            value=chosen,
            key="months",
            help="Your figures are published per whole month, once it has closed.",
        )
    else:
        side.info("No month has been released yet: figures appear once a month has closed.")
    layer_titles = {layer: KIND_BY_LAYER[layer].title for layer in policy.layers}
    layers = side.multiselect(
        "Layers",
        list(policy.layers),
        default=list(start.layers),
        key="layers",
        format_func=lambda layer: layer_titles[layer],
    ) or list(policy.layers)
    groups = {g: label for layer in layers for g, (label, _) in CATEGORY_GROUPS[layer].items()}
    picked = side.multiselect(
        "Category groups",
        list(groups),
        default=[g for g in start.groups or () if g in groups],
        key="groups",
        format_func=lambda g: groups[g],
        help="Empty: every group.",
    )
    res = start.res
    if with_resolution:
        res = side.slider(
            "Hexagon size (H3 resolution; higher is smaller)",
            min_value=6,
            max_value=policy.finest_res,
            value=start.res,
            key="res",
        )
    request = parse_request(
        deployment().policies,
        role=role,
        res=res,
        layers=",".join(layers),
        date_from=first,
        date_to=last,
        categories=",".join(picked) or None,
    )
    assert isinstance(request, ReleaseRequest)
    _to_link(request)
    return request


def _release_from_link(role: str) -> ReleaseRequest:
    """Return the partner request the link describes, or the role's defaults."""
    qp = st.query_params
    policies = deployment().policies
    default = ",".join(policies[role].default_layers) or None
    try:
        request = parse_request(
            policies,
            role=role,
            res=qp.get("res"),
            layers=qp.get("layers") or default,
            hours=qp.get("hours"),  # refused, with what to ask instead
            weekdays=qp.get("weekdays"),
            date_from=qp.get("from"),
            date_to=qp.get("to"),
            categories=qp.get("categories"),
        )
    except StreetsafeError as exc:
        st.sidebar.warning(f"The link's filters were not used: {user_message(exc)}")
        request = parse_request(policies, role=role, layers=default)
    assert isinstance(request, ReleaseRequest)
    return request
