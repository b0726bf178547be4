"""A planned night as the team takes it out: the run sheet table, CSV, GPX 1.1 and a printable
page per team (A4).

Every format says the same things: per team, when to leave the base, each stop in order with
its arrival and leaving times, where it is ("near Derby Road"), its hexagon and what it is
worth, and when the team is back; then the services open during the shift and the stops left
out and why. The travel times are an estimate and each format says so.
"""

from __future__ import annotations

import html
import math
from datetime import UTC, datetime
from xml.sax.saxutils import escape, quoteattr

import pandas as pd

from geo.routing import Plan, TeamRoute
from ingest.files import spreadsheet_csv
from ingest.services import SERVICE_KINDS
from streetsafe.route import NightRoute, describe_request

GPX_NS = "http://www.topografix.com/GPX/1/1"
CREATOR = "streetsafe"
RUN_SHEET_COLUMNS = (
    "team",
    "step",
    "time",
    "leave",
    "where",
    "hexagon",
    "value",
    "worth",
    "metres",
)


def run_sheet(route: NightRoute) -> pd.DataFrame:
    """Every team's night as rows: leave the base, each stop, back at the base."""
    rows: list[dict[str, object]] = []
    for team in route.plan.routes:
        rows += _team_rows(route, team)
    return pd.DataFrame(rows, columns=list(RUN_SHEET_COLUMNS))


def _team_rows(route: NightRoute, team: TeamRoute) -> list[dict[str, object]]:
    base = route.problem.base.name
    clock = route.clock
    rows: list[dict[str, object]] = [
        _row(team.team, 0, time=clock(team.depart), where=f"leave {base}")
    ]
    if not team.visits:
        rows[0]["where"] = f"no stop fits the shift; stay at {base}"
        return rows
    for step, v in enumerate(team.visits, start=1):
        hexagon = "" if v.stop.required else v.stop.place
        value = None if v.stop.required else v.stop.value
        worth = v.stop.detail if not v.stop.required else f"call at the service ({v.stop.detail})"
        where = v.stop.label
        rows.append(
            _row(
                team.team,
                step,
                time=clock(v.arrive),
                leave=clock(v.leave),
                where=where,
                hexagon=hexagon,
                value=value,
                worth=worth,
                metres=v.travel_m,
            )
        )
    last = team.metres - sum(v.travel_m for v in team.visits)
    rows.append(
        _row(
            team.team,
            len(team.visits) + 1,
            time=clock(team.back),
            where=f"back at {base}",
            metres=last,
        )
    )
    return rows


def _row(
    team: int,
    step: int,
    *,
    time: str,
    where: str,
    leave: str = "",
    hexagon: str = "",
    value: float | None = None,
    worth: str = "",
    metres: float = 0.0,
) -> dict[str, object]:
    return {
        "team": team,
        "step": step,
        "time": time,
        "leave": leave,
        "where": where,
        "hexagon": hexagon,
        "value": value,
        "worth": worth,
        "metres": round(metres),
    }


def left_out_table(plan: Plan) -> pd.DataFrame:
    """The candidate stops no team makes, most valuable first, and why."""
    return pd.DataFrame(
        {
            "where": [x.stop.label for x in plan.left_out],
            "hexagon": [x.stop.place for x in plan.left_out],
            "value": [x.stop.value for x in plan.left_out],
            "why": [x.reason for x in plan.left_out],
        }
    )


def summary_lines(route: NightRoute) -> list[str]:
    """What the plan is and what it covers, as lines for a header or a caption."""
    p = route.plan
    km = sum(r.metres for r in p.routes) / 1000
    return [
        f"streetsafe route: {describe_request(route.request)}",
        f"base: {route.problem.base.name}",
        f"covers {p.value:.2f} of value in {p.visits} stops, {km:.1f} km "
        f"(greedy baseline: {p.baseline:.2f}); {len(p.left_out)} candidate stops left out",
        *route.notes,
    ]


def route_csv(route: NightRoute) -> str:
    """The run sheet as CSV, after ``#`` lines saying what it is."""
    head = "".join(f"# {line}\n" for line in summary_lines(route))
    return head + spreadsheet_csv(run_sheet(route))


def route_gpx(route: NightRoute, *, now: datetime | None = None) -> str:
    """The plan as GPX 1.1: the base and open services as waypoints, a route per team."""
    now = now or datetime.now(UTC)
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<gpx version="1.1" creator="{CREATOR}" xmlns="{GPX_NS}">',
        "<metadata>",
        f"<name>{escape(f'streetsafe route, night of {route.request.night:%Y-%m-%d}')}</name>",
        f"<desc>{escape(' | '.join(summary_lines(route)))}</desc>",
        f"<time>{now.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ}</time>",
        "</metadata>",
    ]
    base = route.problem.base
    lines.append(_point("wpt", base.lat, base.lon, name=f"Base: {base.name}", desc="", kind="base"))
    for row in route.services.to_dict("records"):
        kind = SERVICE_KINDS.get(str(row["kind"]), str(row["kind"]))
        desc = f"{kind}; {row['open_text']}; {row['phone']}".strip("; ")
        lines.append(
            _point("wpt", row["lat"], row["lon"], name=str(row["name"]), desc=desc, kind="service")
        )
    for team in route.plan.routes:
        lines.append("<rte>")
        lines.append(f"<name>{escape(f'Team {team.team}')}</name>")
        lines.append(f"<desc>{escape(_team_desc(route, team))}</desc>")
        lines.append(f"<number>{team.team}</number>")
        leave = f"leave {route.clock(team.depart)}"
        lines.append(
            _point("rtept", base.lat, base.lon, name=f"Base: {base.name}", desc=leave, kind="base")
        )
        for step, v in enumerate(team.visits, start=1):
            desc = f"arrive {route.clock(v.arrive)}, leave {route.clock(v.leave)}; {v.stop.detail}"
            name = f"{step}. {v.stop.label}"
            lines.append(_point("rtept", v.stop.lat, v.stop.lon, name=name, desc=desc, kind="stop"))
        back = f"back {route.clock(team.back)}"
        lines.append(
            _point("rtept", base.lat, base.lon, name=f"Base: {base.name}", desc=back, kind="base")
        )
        lines.append("</rte>")
    lines.append("</gpx>")
    return "\n".join(lines) + "\n"


def _point(tag: str, lat: float, lon: float, *, name: str, desc: str, kind: str) -> str:
    # GPX 1.1's wptType: name, desc and type in this order (after ele/time, unused here)
    parts = [f"<name>{escape(name)}</name>"]
    if desc:
        parts.append(f"<desc>{escape(desc)}</desc>")
    parts.append(f"<type>{escape(kind)}</type>")
    where = f"lat={quoteattr(f'{lat:.6f}')} lon={quoteattr(f'{lon:.6f}')}"
    return f"<{tag} {where}>{''.join(parts)}</{tag}>"


def _team_desc(route: NightRoute, team: TeamRoute) -> str:
    return (
        f"leave {route.clock(team.depart)}, {len(team.visits)} stops, back "
        f"{route.clock(team.back)}; {team.metres / 1000:.1f} km; value {team.value:.2f}"
    )


def route_html(route: NightRoute) -> str:
    """A printable run sheet: one A4 page per team (times, places, a sketch of the route),
    then the services open and the stops left out."""
    pages = [_team_page(route, team) for team in route.plan.routes]
    services = _services_html(route)
    left = left_out_table(route.plan)
    left_html = (
        "<p>None: every candidate stop is on a route.</p>"
        if left.empty
        else _table(
            ["Where", "Hexagon", "Value", "Why"],
            [
                [str(r["where"]), str(r["hexagon"]), f"{r['value']:.2f}", str(r["why"])]
                for r in left.head(40).to_dict("records")
            ],
        )
        + (f"<p>… and {len(left) - 40} more.</p>" if len(left) > 40 else "")
    )
    notes = "".join(f"<li>{html.escape(n)}</li>" for n in summary_lines(route)[1:])
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>streetsafe run sheet, night of {route.request.night:%Y-%m-%d}</title>
<style>
@page {{ size: A4; margin: 14mm; }}
body {{ font-family: system-ui, sans-serif; font-size: 10pt; color: #111; }}
h1 {{ font-size: 16pt; margin: 0 0 4pt; }} h2 {{ font-size: 13pt; }}
.page {{ break-after: page; page-break-after: always; }}
table {{ border-collapse: collapse; width: 100%; }}
th, td {{ border: 1px solid #999; padding: 1.5pt 4pt; text-align: left; vertical-align: top; }}
th {{ background: #eee; }} td.num {{ text-align: right; }}
.meta {{ color: #333; font-size: 9.5pt; }} svg {{ border: 1px solid #999; }}
</style></head><body>
{"".join(pages)}
<section><h1>Services open during the shift</h1>{services}
<h2>Stops left out</h2>{left_html}
<h2>About this plan</h2><ul class="meta">{notes}</ul></section>
</body></html>
"""


def _team_page(route: NightRoute, team: TeamRoute) -> str:
    rows = [
        [str(r["step"]), str(r["time"]), str(r["leave"]), str(r["where"]), str(r["worth"])]
        for r in _team_rows(route, team)
    ]
    night = f"{route.request.night:%a %d %b %Y}"
    return f"""<section class="page">
<h1>Team {team.team} · night of {night} · shift {html.escape(route.request.shift)}</h1>
<p class="meta">{html.escape(_team_desc(route, team))} · by {route.request.mode} ·
travel times are an estimate · base: {html.escape(route.problem.base.name)}</p>
{_table(["#", "Arrive", "Leave", "Where", "Why go"], rows)}
{_sketch(route, team)}
</section>"""


def _services_html(route: NightRoute) -> str:
    if route.services.empty:
        return "<p>No service in the services file is open during the shift.</p>"
    return _table(
        ["Service", "Kind", "Open", "Phone", "Address"],
        [
            [
                str(r["name"]),
                SERVICE_KINDS.get(str(r["kind"]), str(r["kind"])),
                *(str(r[c]) for c in ("open_text", "phone", "address")),
            ]
            for r in route.services.to_dict("records")
        ],
    )


def _table(head: list[str], rows: list[list[str]]) -> str:
    th = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"


def _sketch(route: NightRoute, team: TeamRoute, width: int = 600, height: int = 220) -> str:
    """A small drawing of the team's route (north up, to scale), numbered like the table."""
    base = route.problem.base
    pts = [(base.lat, base.lon)] + [(v.stop.lat, v.stop.lon) for v in team.visits]
    if len(pts) < 2:
        return ""

    kx = math.cos(math.radians(base.lat))
    xs = [lon * kx for _, lon in pts]
    ys = [lat for lat, _ in pts]
    span = max(max(xs) - min(xs), max(ys) - min(ys), 1e-4)
    scale = min((width - 40) / span, (height - 40) / span)

    def xy(i: int) -> tuple[float, float]:
        return 20 + (xs[i] - min(xs)) * scale, height - 20 - (ys[i] - min(ys)) * scale

    path = " ".join(f"{x:.1f},{y:.1f}" for x, y in (xy(i) for i in [*range(len(pts)), 0]))
    labels: dict[tuple[float, float], list[str]] = {}  # a place visited twice: "1/13"
    for i in range(len(pts)):
        labels.setdefault(xy(i), []).append("B" if i == 0 else str(i))
    marks = []
    for (x, y), names in labels.items():
        base_here = names[0] == "B"
        label = "/".join(names)
        r = 9 + 3 * (len(label) - 2 if len(label) > 2 else 0)
        marks.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{r}" fill="{"#111" if base_here else "#fff"}" '
            f'stroke="#111"/><text x="{x:.1f}" y="{y + 4:.1f}" font-size="10" '
            f'text-anchor="middle" fill="{"#fff" if base_here else "#111"}">{label}</text>'
        )
    return (
        f'<p class="meta">Sketch (north up; B is the base):</p>'
        f'<svg width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'xmlns="http://www.w3.org/2000/svg"><polyline points="{path}" fill="none" '
        f'stroke="#b3261e" stroke-width="2"/>{"".join(marks)}</svg>'
    )
