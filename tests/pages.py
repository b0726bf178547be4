"""What the dashboard's menu should hold, written once for every test that checks it: each
role's pages in menu order, each page's header, and the menu's titles."""

from __future__ import annotations

PAGES = {
    "outreach": ["night_map", "route", "hotspots", "trends", "data", "about"],
    "police_npt": ["night_map", "hotspots", "trends", "data", "about"],
    "community_safety": ["night_map", "hotspots", "trends", "local_impact", "data", "about"],
    "admin": ["audit"],
}
DATA_PAGES = ("night_map", "route", "hotspots", "trends", "local_impact", "data", "about")
HEADERS = {
    "night_map": "Night map",
    "route": "Route planner",
    "hotspots": "Hotspots",
    "trends": "Trends",
    "local_impact": "Local impact, ward by ward",
    "data": "Add data",
    "about": "About the data",
    "audit": "Audit trail",
}
MENU_TITLES = {
    "night_map": "Night map",
    "route": "Route planner",
    "hotspots": "Hotspots",
    "trends": "Trends",
    "local_impact": "Local impact",
    "data": "Data",
    "about": "About the data",
    "audit": "Audit trail",
}


def menu(role: str) -> list[str]:
    """Return the titles the menu lists for ``role``, in order."""
    return [MENU_TITLES[page] for page in PAGES[role]]
