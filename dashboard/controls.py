"""Sidebar filters: one state for every page, kept in the page's link so a view can be shared.

What a person chose on one page holds on the next (``st.session_state``), and is written to the
link (``st.query_params``); a link opened first wins. A role that may not ask some of it (after
a role switch in demo mode, or a link made for another role) gets it made coarser, quietly,
with a one-line note (:func:`streetsafe.filters.fit_to_role`).
"""

from __future__ import annotations

from datetime import date

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from dashboard.state import (
    coverage_of,
    current_viewer,
    deployment,
    released_months,
)
from dashboard.theme import is_phone
from geo.errors import StreetsafeError
from geo.layers import CATEGORY_GROUPS
from geo.nights import WEEKDAYS
from ingest.kinds import KIND_BY_LAYER
from streetsafe.filters import (
    LINK_KEYS,
    ReleaseRequest,
    ViewRequest,
    fit_to_role,
    parse_request,
)
from streetsafe.messages import user_message

NIGHT_HOURS = [f"{h:02d}:00" for h in (*range(18, 24), *range(7))]  # 18:00 … 06:00
DEFAULT_HOURS = ("22:00", "04:00")
WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
FILTERS_KEY = "_streetsafe_filters"  # the filters chosen, as link parameters: one for all pages
ROLE_KEY = "_streetsafe_filters_role"  # the role the filter widgets were last drawn for
WIDGET_KEYS = ("whole_day", "hours", "weekdays", "dates", "layers", "categories", "res")
RELEASE_WIDGET_KEYS = ("months", "groups")
AnyRequest = ViewRequest | ReleaseRequest
Panel = DeltaGenerator  # where the filters are drawn: the sidebar, or a fold above the map


def category_title(code: str) -> str:
    """Return a category's words (``kerb_crawling`` -> "Kerb-crawling")."""
    for kind in KIND_BY_LAYER.values():
        if code in kind.categories:
            return kind.categories[code]
    return code.replace("_", " ").capitalize()


def controls(role: str, *, with_resolution: bool = True, night_hours: bool = True) -> AnyRequest:
    """Draw the role's filters in the sidebar and return the checked request: live ones for a
    role with case knowledge, a partner's release filters (months, layers, category groups)
    for any other.

    With ``night_hours`` False, a page where no hours were chosen yet shows the whole day
    (local impact) instead of the night (22:00-04:00).
    """
    if st.session_state.get(ROLE_KEY) != role:  # a new role: its widgets start from the state
        for key in (*WIDGET_KEYS, *RELEASE_WIDGET_KEYS):
            st.session_state.pop(key, None)
        st.session_state[ROLE_KEY] = role
    defaults = page_defaults(role, night_hours=night_hours)
    # On a phone the filters fold above the map: a drawer over it would cover most of the screen.
    box = st.expander("Filters", icon=":material/tune:") if is_phone() else st.sidebar
    if deployment().policies[role].case_knowledge:
        request: AnyRequest = view_controls(role, defaults, box, with_resolution=with_resolution)
    else:
        request = release_controls(role, defaults, box, with_resolution=with_resolution)
    _keep(request, defaults)
    return request


def page_defaults(role: str, *, night_hours: bool = True) -> dict[str, str]:
    """Return the filters a page starts with when none were chosen: the role's default layers
    (or, where those hold no data, e.g. in a town with police.uk data only, all its layers
    that do) and, for live views of records with times, the night or the whole day."""
    policy = deployment().policies[role]
    covered = coverage_of(role)
    layers = policy.default_layers or policy.layers
    if covered.empty(layers):
        layers = tuple(layer for layer in policy.layers if layer in covered.months) or layers
    out = {"layers": ",".join(layers)}
    if policy.case_knowledge:
        night = night_hours and covered.timed(layers)
        out["hours"] = "-".join(h[:2] for h in DEFAULT_HOURS) if night else "00-24"
    return out


def _start(role: str, defaults: dict[str, str], box: Panel) -> AnyRequest:
    """Return the request the filters start from: a shared link's, else the one chosen on any
    page before, else the page's defaults. A link's filters that do not parse are set aside
    with a warning saying why."""
    qp = st.query_params
    link = {key: qp[key] for key in LINK_KEYS if key in qp}
    chosen = link or dict(st.session_state.get(FILTERS_KEY, {}))
    fitted, notes = fit_to_role(deployment().policies, role, chosen)
    for note in notes:
        box.caption(note)
    try:
        return _parse(role, defaults | fitted)
    except StreetsafeError as exc:
        box.warning(f"The link's filters were not used: {user_message(exc)}")
        st.session_state.pop(FILTERS_KEY, None)
        return _parse(role, defaults)


def _parse(role: str, params: dict[str, str]) -> AnyRequest:
    return parse_request(
        deployment().policies,
        role=role,
        res=params.get("res"),
        layers=params.get("layers"),
        hours=params.get("hours"),
        weekdays=params.get("weekdays"),
        date_from=params.get("from"),
        date_to=params.get("to"),
        categories=params.get("categories"),
    )


def _keep(request: AnyRequest, defaults: dict[str, str]) -> None:
    """Remember the filters for every page, and write them to the link.

    A filter at this page's default is remembered only if it was chosen before: the night
    map's 22:00-04:00 does not follow a person to a page whose default is the whole day.
    """
    params = request.query_params()
    role = params.pop("role")
    if isinstance(request, ViewRequest) and request.hours is None:
        params["hours"] = "00-24"
    before: dict[str, str] = st.session_state.get(FILTERS_KEY, {})
    st.session_state[FILTERS_KEY] = {
        k: v for k, v in params.items() if defaults.get(k) != v or k in before
    }
    if current_viewer().demo:  # a signed-in role comes from sign-in, never from a link
        params["role"] = role
    if dict(st.query_params) != params:
        st.query_params.from_dict(params)


def _layer_choice(role: str, start: AnyRequest, box: Panel) -> list[str]:
    policy = deployment().policies[role]
    titles = {layer: KIND_BY_LAYER[layer].title for layer in policy.layers}
    return box.multiselect(
        "Layers",
        list(policy.layers),
        default=list(start.layers),
        key="layers",
        format_func=lambda layer: titles[layer],
    ) or list(policy.layers)


def _resolution(role: str, start: AnyRequest, box: Panel, with_resolution: bool) -> int:
    if not with_resolution:
        return start.res
    return int(
        box.slider(
            "Hexagon size (H3 resolution; higher is smaller)",
            min_value=6,
            max_value=deployment().policies[role].finest_res,
            value=start.res,
            key="res",
        )
    )


def view_controls(
    role: str, defaults: dict[str, str], box: Panel, *, with_resolution: bool = True
) -> ViewRequest:
    """Draw the live filters in ``box`` (the sidebar); return the checked request."""
    start = _start(role, defaults, box)
    assert isinstance(start, ViewRequest)
    side = box
    side.subheader("Filters")

    whole_day = side.toggle("Whole day", value=start.hours is None, key="whole_day")
    hours_text = "00-24"
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
    layers = _layer_choice(role, start, box)
    categories = sorted({c for layer in layers for c in KIND_BY_LAYER[layer].categories})
    chosen = side.multiselect(
        "Categories",
        categories,
        default=[c for c in start.categories or () if c in categories],
        key="categories",
        format_func=category_title,
        help="Empty: every category.",
    )
    res = _resolution(role, start, box, with_resolution)
    date_from, date_to = _dates(dates)
    request = _parse(
        role,
        {
            "res": str(res),
            "layers": ",".join(layers),
            "hours": hours_text,
            "weekdays": ",".join(WEEKDAYS[WEEKDAY_NAMES.index(d)] for d in days),
            "from": date_from.isoformat() if date_from else "",
            "to": date_to.isoformat() if date_to else "",
            "categories": ",".join(chosen),
        },
    )
    assert isinstance(request, ViewRequest)
    return request


def _latest_months(role: str, layers: tuple[str, ...], labels: list[str]) -> tuple[str, str]:
    """The default months: the latest three released, up to the last that holds figures of
    ``layers`` (a town with older data only, e.g. police.uk's, still opens on some)."""
    spans = coverage_of(role).months
    ends = [f"{spans[layer][1]:%Y-%m}" for layer in layers if layer in spans]
    last = labels.index(max(ends)) if ends and max(ends) in labels else len(labels) - 1
    return labels[max(0, last - 2)], labels[last]


def _dates(value: object) -> tuple[date | None, date | None]:
    if isinstance(value, tuple | list) and len(value) == 2:
        return value[0], value[1]
    return None, None


# --- partner roles: monthly releases ---------------------------------------------------------


def release_controls(
    role: str, defaults: dict[str, str], box: Panel, *, with_resolution: bool = True
) -> ReleaseRequest:
    """Draw a partner's filters (whole released months, layers, category groups, hexagon
    size) in ``box``; return the checked request."""
    start = _start(role, defaults, box)
    assert isinstance(start, ReleaseRequest)
    months = released_months()
    side = box
    side.subheader("Filters")
    first = last = ""
    if months:
        labels = [f"{m:%Y-%m}" for m in months]
        wanted = (
            (f"{start.first:%Y-%m}", f"{start.last:%Y-%m}") if start.first and start.last else None
        )
        chosen = (
            wanted
            if wanted and wanted[0] in labels and wanted[1] in labels
            else _latest_months(role, start.layers, labels)
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
    layers = _layer_choice(role, start, box)
    groups = {g: label for layer in layers for g, (label, _) in CATEGORY_GROUPS[layer].items()}
    picked = side.multiselect(
        "Category groups",
        list(groups),
        default=[g for g in start.groups or () if g in groups],
        key="groups",
        format_func=lambda g: groups[g],
        help="Empty: every group.",
    )
    res = _resolution(role, start, box, with_resolution)
    request = _parse(
        role,
        {
            "res": str(res),
            "layers": ",".join(layers),
            "from": first,
            "to": last,
            "categories": ",".join(picked),
        },
    )
    assert isinstance(request, ReleaseRequest)
    return request
