"""The night map in a real browser: hexagons are drawn, and follow the time-of-night slider.

Runs the dashboard on a demo store and drives Debian's Chromium through Playwright (no browser
is ever downloaded: ``apt-get install chromium``). The map has no base map, so the page needs
nothing from the internet; every request it makes to another host is refused and recorded.

Screenshots land in ``test-artifacts/browser/``; with ``STREETSAFE_UPDATE_SCREENSHOT=1`` the
README's ``docs/night-map.png`` is written again too.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Iterator
from contextlib import suppress

import pytest
from playwright.sync_api import Browser, Locator, Page, ViewportSize, expect
from playwright.sync_api import Error as PlaywrightError

from dashboard.mapping import BIN_COLOURS, LAYER_COLOURS, LAYER_TITLES
from tests.conftest import ROOT
from tests.e2e.browser import (
    MapPixels,
    PageLog,
    changed_fraction,
    map_pixels,
    save_small_png,
)
from tests.pages import menu

pytestmark = pytest.mark.browser


ARTIFACTS = ROOT / "test-artifacts" / "browser"
README_SHOT = ROOT / "docs" / "night-map.png"
MAP = '[data-testid="stDeckGlJsonChart"]'
VIEWPORT: ViewportSize = {"width": 1400, "height": 1000}
HEX_CAPTION = re.compile(r"([\d,]+) hexagons shown")
# Enough to be a map, not a stray legend swatch: the demo draws most of a 1000 x 560 chart.
MIN_COLOURED_SHARE = 0.05
MIN_LAYER_PIXELS = 500
# The layers told apart by hue (police.uk is grey, like the ward lines).
HUES = {layer: rgb for layer, rgb in LAYER_COLOURS.items() if max(rgb) - min(rgb) >= 48}


@pytest.fixture
def page_and_log(
    browser: Browser, request: pytest.FixtureRequest
) -> Iterator[tuple[Page, PageLog]]:
    """A fresh page (own context) whose requests to other hosts are refused and recorded."""
    context = browser.new_context(viewport=VIEWPORT, service_workers="block")
    log = PageLog()
    page = context.new_page()
    log.attach(page)
    try:
        yield page, log
    finally:
        name = request.node.name
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        (ARTIFACTS / f"{name}.log").write_text(log.report())
        try:
            with suppress(PlaywrightError):  # a crashed page has no picture to give
                page.screenshot(path=ARTIFACTS / f"{name}-last.png", full_page=True)
        finally:
            context.close()


def open_night_map(page: Page, url: str, role: str = "outreach") -> MapPixels:
    """Open the dashboard as ``role`` (demo mode, so a link may choose it; the night map is
    the first page); return the map once it is drawn."""
    page.goto(f"{url}?role={role}", wait_until="domcontentloaded")
    canvas = page.locator(f"{MAP} canvas").first
    canvas.wait_for(state="visible", timeout=45_000)
    assert page.evaluate(WEBGL_RENDERER), (
        "Chromium gave no WebGL context: try adding --use-angle=swiftshader "
        "--enable-unsafe-swiftshader to CHROMIUM_ARGS"
    )
    expect(hex_caption(page)).to_be_visible(timeout=30_000)
    return settled_map(page, lambda px: px.coloured > 0)


WEBGL_RENDERER = """() => {
  const gl = document.createElement('canvas').getContext('webgl2');
  if (!gl) return null;
  const info = gl.getExtension('WEBGL_debug_renderer_info');
  return gl.getParameter(info ? info.UNMASKED_RENDERER_WEBGL : gl.RENDERER);
}"""


def hex_caption(page: Page) -> Locator:
    """The caption under the map: "N hexagons shown · …"."""
    return page.get_by_test_id("stCaptionContainer").filter(has_text="hexagons shown")


def showing(page: Page) -> Locator:
    """The line under a page's header that states its filters: "Showing: … Coverage: …"."""
    return page.get_by_test_id("stCaptionContainer").filter(has_text="Showing:")


def hexagons_shown(page: Page) -> int:
    """Return N of the caption "N hexagons shown"."""
    text = hex_caption(page).inner_text()
    found = HEX_CAPTION.search(text)
    assert found, text
    return int(found.group(1).replace(",", ""))


def legend(page: Page) -> dict[str, bool]:
    """Return, for each layer the legend under the map lists, whether it has hexagons shown."""
    text = page.get_by_test_id("stMarkdownContainer").filter(has_text="per hexagon").inner_text()
    found = {}
    for layer, title in LAYER_TITLES.items():
        entry = re.search(rf"{re.escape(title)}: [a-z]+ per hexagon: (none shown|\d+)", text)
        if entry:
            found[layer] = entry.group(1) != "none shown"
    assert found, f"no legend under the map: {text!r}"
    return found


def assert_layers_drawn(shot: MapPixels, listed: dict[str, bool]) -> None:
    """Check the map against its legend: layers with hexagons drawn, empty ones not."""
    assert shot.coloured >= MIN_COLOURED_SHARE * shot.total, shot.summary()
    for layer, has_hexagons in listed.items():
        if layer not in HUES:
            continue
        n = shot.by_layer[layer]
        if has_hexagons:
            assert n >= MIN_LAYER_PIXELS, f"{layer} hardly drawn: {shot.summary()}"
        else:
            assert n < MIN_LAYER_PIXELS, f"{layer} drawn, legend says none: {shot.summary()}"


def page_background(page: Page) -> tuple[int, int, int]:
    """Return the app's background colour, which shows through the map (no base map)."""
    css: str = page.evaluate(
        "() => getComputedStyle(document.querySelector('.stApp')).backgroundColor"
    )
    r, g, b = (int(v) for v in re.findall(r"\d+", css)[:3])
    return r, g, b


def map_shot(page: Page) -> MapPixels:
    """Screenshot the map element (WebGL canvas as composited) and count its pixels."""
    page.mouse.move(0, 0)  # no hover highlight or tooltip in the picture
    return map_pixels(page.locator(MAP).first.screenshot(), page_background(page), HUES)


def settled_map(
    page: Page, ready: Callable[[MapPixels], bool], *, timeout: float = 30.0
) -> MapPixels:
    """Return the map once ``ready`` holds and two screenshots in a row agree."""
    deadline = time.monotonic() + timeout
    last = map_shot(page)
    while True:
        page.wait_for_timeout(400)
        shot = map_shot(page)
        if ready(shot) and changed_fraction(last, shot) == 0.0:
            return shot
        if time.monotonic() > deadline:
            return shot
        last = shot


def update_readme_screenshot(page: Page) -> None:
    """Write the README's picture of the night map (the window as a person would see it)."""
    # Headless Debian Chromium has no colour-emoji font: the page's emoji icons would show as
    # empty boxes, which a person's browser does not. Hide them for this picture only.
    style = page.add_style_tag(content=NO_EMOJI_CSS)
    try:
        page.wait_for_timeout(300)
        size = save_small_png(page.screenshot(), README_SHOT)
    finally:
        style.evaluate("node => node.remove()")
    print(f"wrote {README_SHOT.relative_to(ROOT)} ({size:,} bytes)")


NO_EMOJI_CSS = (
    '[data-testid="stIconEmoji"], [data-testid="stAlertDynamicIcon"] { display: none !important; }'
)


def test_a_page_address_opened_first_still_gets_the_role_menu_and_banner(
    page_and_log: tuple[Page, PageLog], dashboard_url: str
) -> None:
    """A bookmarked page may be the first request a fresh server gets (this test runs first).

    It must run inside the entry script: the synthetic-data banner, the role chooser and only
    the role's pages in the menu. With the page files in a folder named ``pages/``, Streamlit
    served that first request from the file alone, with every page listed and no banner.
    """
    page, _ = page_and_log
    page.goto(dashboard_url + "trends?role=outreach", wait_until="domcontentloaded")
    page.get_by_text("Synthetic demo data.").wait_for(timeout=60_000)
    page.get_by_role("heading", name="Trends").wait_for(timeout=60_000)
    links = page.locator('[data-testid="stSidebarNavLink"]').all_inner_texts()
    titles = [link.strip().splitlines()[-1] for link in links]  # (after each icon)
    assert titles == menu("outreach")


def test_night_map_draws_hexagons_and_follows_the_time_slider(
    dashboard_url: str, page_and_log: tuple[Page, PageLog]
) -> None:
    page, log = page_and_log
    before = open_night_map(page, dashboard_url)
    shown_before = hexagons_shown(page)
    page.screenshot(path=ARTIFACTS / "night-map-22-04.png", full_page=True)
    if os.environ.get("STREETSAFE_UPDATE_SCREENSHOT") == "1":
        update_readme_screenshot(page)

    listed_before = legend(page)
    print(f"22:00-04:00: {shown_before} hexagons, legend {listed_before}; {before.summary()}")
    assert_layers_drawn(before, listed_before)

    # Start the night at 02:00 instead of 22:00: four steps right on the slider's first thumb.
    start = page.get_by_role("slider", name="Time of night — start")
    start.focus()
    for _ in range(4):
        page.keyboard.press("ArrowRight")
    expect(showing(page)).to_contain_text("02:00 to 04:00", timeout=20_000)
    expect(page.get_by_test_id("stSliderThumbValue").first).to_have_text("02:00")
    deadline = time.monotonic() + 20
    while hexagons_shown(page) == shown_before and time.monotonic() < deadline:
        page.wait_for_timeout(200)
    shown_after = hexagons_shown(page)
    after = settled_map(page, lambda px: changed_fraction(before, px) > 0.005)
    page.screenshot(path=ARTIFACTS / "night-map-02-04.png", full_page=True)
    changed = changed_fraction(before, after)

    listed_after = legend(page)
    print(
        f"02:00-04:00: {shown_after} hexagons, legend {listed_after}; {after.summary()}; "
        f"{changed:.1%} of the map's pixels changed"
    )
    assert shown_after != shown_before, "the caption did not follow the slider"
    assert changed > 0.005, f"the map did not follow the slider: {after.summary()}"
    assert_layers_drawn(after, listed_after)
    assert not log.errors, log.report()


def test_night_map_asks_nothing_of_the_internet(
    dashboard_url: str, page_and_log: tuple[Page, PageLog]
) -> None:
    page, log = page_and_log
    open_night_map(page, dashboard_url)
    page.wait_for_timeout(1_000)
    # With no base map set, nothing may leave the machine (an explicit map_style=None once made
    # Streamlit fetch a Carto style by itself).
    assert not log.external, log.report()


def test_the_map_keeps_its_zoom_when_a_filter_changes(
    dashboard_url: str, page_and_log: tuple[Page, PageLog]
) -> None:
    page, _ = page_and_log
    open_night_map(page, dashboard_url)
    default_view = settled_map(page, lambda px: True)
    # Zoom in on the centre of town with the mouse wheel, as a person would.
    box = page.locator(MAP).first.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    for _ in range(3):
        page.mouse.wheel(0, -400)
        page.wait_for_timeout(300)
    zoomed = settled_map(page, lambda px: changed_fraction(default_view, px) > 0.05)
    assert changed_fraction(default_view, zoomed) > 0.05, "the mouse wheel did not zoom the map"

    start = page.get_by_role("slider", name="Time of night — start")
    start.focus()
    page.keyboard.press("ArrowRight")  # 22:00 -> 23:00
    expect(showing(page)).to_contain_text("23:00 to 04:00", timeout=20_000)
    after = settled_map(page, lambda px: True)
    page.screenshot(path=ARTIFACTS / "night-map-zoomed-after-filter.png", full_page=True)
    # Still zoomed in: far from the default view, near the zoomed one (only the data changed).
    assert changed_fraction(default_view, after) > changed_fraction(zoomed, after), (
        "the map went back to its default view when the filter changed"
    )


@pytest.mark.parametrize(
    ("role", "size"),
    [("police_npt", VIEWPORT), ("outreach", {"width": 390, "height": 844})],
    ids=["police-desktop", "outreach-phone"],
)
def test_the_hotspot_page_draws_its_bins_in_low_light(
    dashboard_url: str, browser: Browser, role: str, size: ViewportSize
) -> None:
    """The Hotspots page as a role opens it from the menu, in low-light mode, on a desktop and
    a phone: red hot spots drawn, the legend and the table below the map reachable."""
    context = browser.new_context(viewport=size, service_workers="block")
    log = PageLog()
    page = context.new_page()
    log.attach(page)
    phone = size["width"] < 500
    name = f"hotspots-{role}-{'phone' if phone else 'desktop'}"
    try:
        page.goto(f"{dashboard_url}?role={role}", wait_until="domcontentloaded")
        page.get_by_text("Synthetic demo data.").wait_for(timeout=60_000)
        if phone:
            page.get_by_test_id("stExpandSidebarButton").click()
        page.get_by_text("Low-light mode (for the van at night)").click()
        page.get_by_role("link", name="Hotspots").click()
        if phone:
            page.get_by_test_id("stSidebarCollapseButton").locator("button").click()
        page.get_by_role("heading", name="Hotspots").wait_for(timeout=60_000)
        page.get_by_text("Hexagons by significance").wait_for(timeout=180_000)
        page.locator(f"{MAP} canvas").first.wait_for(state="visible", timeout=45_000)
        hot = {"hot": BIN_COLOURS[3], "warm": BIN_COLOURS[2]}
        shot = map_pixels(page.locator(MAP).first.screenshot(), page_background(page), hot)
        deadline = time.monotonic() + 30
        while shot.by_layer["hot"] + shot.by_layer["warm"] < MIN_LAYER_PIXELS:
            assert time.monotonic() < deadline, f"no hot spot drawn: {shot.summary()}"
            page.wait_for_timeout(500)
            shot = map_pixels(page.locator(MAP).first.screenshot(), page_background(page), hot)
        assert sum(page_background(page)) < 100  # the low-light page
        page.screenshot(path=ARTIFACTS / f"{name}.png")
        # below the map: the legend, the counts and the table, reached by scrolling the page
        page.get_by_text("Hot spot, 99 %").scroll_into_view_if_needed()
        expect(page.get_by_text("Hot spot, 99 %")).to_be_visible()
        table = page.get_by_test_id("stDataFrame").first
        table.scroll_into_view_if_needed()
        expect(table).to_be_visible()
        page.screenshot(path=ARTIFACTS / f"{name}-table.png")
        assert not log.external, log.report()
        assert not log.errors, log.report()
    finally:
        (ARTIFACTS / f"{name}.log").write_text(log.report())
        context.close()
