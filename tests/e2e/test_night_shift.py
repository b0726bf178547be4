"""The dashboard as it is used at 1 a.m. in a van and at 9 a.m. at a desk: every text readable in
both looks, tables and charts dark in low light, and a phone that scrolls past the map and
opens a hexagon's detail in view.

Screenshots of every page, role, size and look land in ``test-artifacts/browser/night/``.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import Browser, Page, ViewportSize, expect

from dashboard.mapping import LAYER_COLOURS
from dashboard.route_map import team_colour
from tests.e2e.browser import PageLog, map_pixels
from tests.e2e.conftest import ARTIFACTS
from tests.pages import MENU_TITLES, PAGES

pytestmark = pytest.mark.browser

SHOTS = ARTIFACTS / "night"
DESKTOP: ViewportSize = {"width": 1440, "height": 900}
PHONE: ViewportSize = {"width": 390, "height": 844}
# A phone's browser, as it names itself (Chromium on Android).
PHONE_AGENT = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/130.0 Mobile Safari/537.36"
)
MIN_CONTRAST = 4.5  # WCAG 2 AA, normal text
MIN_LARGE_CONTRAST = 3.0  # WCAG 2 AA, large text (24 px, or 18.66 px bold)
MAP = '[data-testid="stDeckGlJsonChart"]'

# Every visible text of the page: its colour and the background it is drawn on (the colours of
# the element and its ancestors composed, as the browser paints them), its size and weight.
TEXTS = """() => {
  const parse = (css) => {
    const m = css.match(/rgba?\\(([^)]+)\\)/);
    if (!m) return [0, 0, 0, 0];
    const p = m[1].split(/[ ,/]+/).filter(Boolean).map(Number);
    return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1];
  };
  const over = (top, under) => {
    const a = top[3];
    return [0, 1, 2].map(i => top[i] * a + under[i] * (1 - a)).concat([1]);
  };
  // the backgrounds painted under the text: of its ancestors whose box holds the text's centre
  // (a slider's value is drawn above its thumb, outside it)
  const background = (el) => {
    const layers = [];
    const box = el.getBoundingClientRect();
    const x = box.left + box.width / 2, y = box.top + box.height / 2;
    for (let e = el; e; e = e.parentElement) {
      const r = e.getBoundingClientRect();
      if (e !== document.documentElement && e !== document.body &&
          (x < r.left || x > r.right || y < r.top || y > r.bottom)) continue;
      const c = parse(getComputedStyle(e).backgroundColor);
      if (c[3] > 0) layers.push(c);
      if (c[3] >= 1) break;
    }
    let colour = [255, 255, 255, 1];
    for (const c of layers.reverse()) colour = over(c, colour);
    return colour;
  };
  const out = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const text = node.textContent.trim();
    const el = node.parentElement;
    if (!text || !el || el.closest('script,style,noscript,[data-testid="stDataFrame"]')) continue;
    const box = el.getBoundingClientRect();
    const style = getComputedStyle(el);
    if (box.width < 1 || box.height < 1 || style.visibility === 'hidden') continue;
    if (style.display === 'none' || Number(style.opacity) === 0) continue;
    if (el.closest('[aria-hidden="true"]')) continue;
    const bg = background(el);
    out.push({
      text: text.slice(0, 60), colour: over(parse(style.color), bg), background: bg,
      size: parseFloat(style.fontSize), weight: Number(style.fontWeight) || 400,
      where: el.closest('[data-testid]')?.getAttribute('data-testid') || el.tagName,
    });
  }
  return out;
}"""


def luminance(rgb: list[float]) -> float:
    """WCAG relative luminance of an sRGB colour (0-255)."""

    def channel(c: float) -> float:
        c /= 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in rgb[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: list[float], b: list[float]) -> float:
    """WCAG contrast ratio of two colours."""
    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def low_contrast(page: Page) -> list[str]:
    """Return every text on the page under WCAG AA contrast, described."""
    bad = []
    for t in page.evaluate(TEXTS):
        large = t["size"] >= 24 or (t["size"] >= 18.66 and t["weight"] >= 700)
        ratio = contrast(t["colour"], t["background"])
        if ratio < (MIN_LARGE_CONTRAST if large else MIN_CONTRAST):
            bad.append(f"{ratio:.2f}:1 {t['where']} {t['text']!r}")
    return bad


def mean_luminance(png: bytes) -> float:
    """Return the mean WCAG luminance of a screenshot's pixels."""
    from io import BytesIO

    from PIL import Image

    with Image.open(BytesIO(png)) as img:
        rgb = np.asarray(img.convert("RGB"), dtype=np.float64) / 255
    lin = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    return float((lin @ np.array([0.2126, 0.7152, 0.0722])).mean())


@pytest.fixture
def open_page(browser: Browser, dashboard_url: str) -> Iterator[Any]:
    """Open the dashboard in demo mode as a role, at a size, in a look; closed afterwards."""
    contexts = []
    logs: list[PageLog] = []
    SHOTS.mkdir(parents=True, exist_ok=True)

    def start(role: str, size: ViewportSize, *, dark: bool) -> Page:
        phone = size["width"] < 500
        context = browser.new_context(
            viewport=size,
            service_workers="block",
            is_mobile=phone,
            has_touch=phone,
            user_agent=PHONE_AGENT if phone else None,
        )
        contexts.append(context)
        page = context.new_page()
        log = PageLog()
        log.attach(page)
        logs.append(log)
        page.goto(f"{dashboard_url}?role={role}", wait_until="domcontentloaded")
        page.get_by_text("Synthetic demo data.").wait_for(timeout=60_000)
        if dark:
            with_sidebar(page, lambda: page.get_by_text("Low-light mode").click())
            expect(page.locator(".stApp")).to_have_css(
                "background-color", "rgb(14, 17, 23)", timeout=20_000
            )
        return page

    yield start
    for context in contexts:
        context.close()
    for log in logs:
        assert not log.external, log.report()


def with_sidebar(page: Page, action: Any) -> None:
    """Do ``action`` in the sidebar, opening it first on a phone (and closing it after)."""
    phone = (page.viewport_size or DESKTOP)["width"] < 500
    if phone:
        page.get_by_test_id("stExpandSidebarButton").click()
    action()
    if phone:
        page.get_by_test_id("stSidebarCollapseButton").locator("button").click()


def settle(page: Page, page_name: str) -> None:
    """Wait for a page to be drawn: its header, then the app at rest."""
    header = {"night_map": "Night map", "local_impact": "Local impact, ward by ward"}
    name = header.get(page_name, MENU_TITLES[page_name])
    if page_name == "data":
        name = "Add data"
    page.get_by_role("heading", name=re.compile(re.escape(name))).first.wait_for(timeout=120_000)
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=180_000
    )
    page.wait_for_timeout(1_500)


@pytest.mark.parametrize("dark", [False, True], ids=["light", "low-light"])
@pytest.mark.parametrize("role", ["outreach", "police_npt", "community_safety"])
def test_every_text_on_every_page_is_readable(open_page: Any, role: str, dark: bool) -> None:
    """WCAG AA contrast (4.5:1) for every text, in both looks; in low light, tables and charts
    dark too. A page is opened from the menu, as a person would."""
    page = open_page(role, DESKTOP, dark=dark)
    look = "low-light" if dark else "light"
    failures = []
    for name in PAGES[role]:
        if name != PAGES[role][0]:
            page.get_by_role("link", name=MENU_TITLES[name], exact=True).click()
        settle(page, name)
        page.screenshot(path=SHOTS / f"{role}-{name}-desktop-{look}.png", full_page=True)
        failures += [f"{name}: {bad}" for bad in low_contrast(page)]
        if name == PAGES[role][0]:  # a drop-down's menu, open
            page.get_by_test_id("stMultiSelect").first.locator("input").click()
            menu = page.get_by_test_id("stMultiSelectDropdown")
            menu.wait_for(timeout=10_000)
            failures += [f"{name}, a menu: {bad}" for bad in low_contrast(page)]
            shade = mean_luminance(menu.screenshot())
            if dark and shade > 0.25:
                failures.append(f"{name}: a bright drop-down menu ({shade:.2f}) in low light")
            page.keyboard.press("Escape")
        if dark:
            for kind in ("stDataFrame", "stVegaLiteChart"):
                for element in page.get_by_test_id(kind).all()[:2]:
                    element.scroll_into_view_if_needed()
                    shade = mean_luminance(element.screenshot())
                    if shade > 0.25:
                        failures.append(f"{name}: a bright {kind} ({shade:.2f}) in low light")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("dark", [False, True], ids=["light", "low-light"])
@pytest.mark.parametrize("role", ["outreach", "police_npt", "community_safety"])
def test_each_role_opens_its_map_on_a_phone(open_page: Any, role: str, dark: bool) -> None:
    """A phone at 390 x 844: the filters fold above the map, every text readable."""
    page = open_page(role, PHONE, dark=dark)
    settle(page, "night_map")
    expect(page.get_by_test_id("stExpander").filter(has_text="Filters").first).to_be_visible()
    page.screenshot(path=SHOTS / f"{role}-night_map-phone-{'low-light' if dark else 'light'}.png")
    assert not low_contrast(page), low_contrast(page)


@pytest.mark.parametrize("dark", [False, True], ids=["light", "low-light"])
def test_a_phone_scrolls_past_the_map_and_opens_a_hexagon_in_view(
    open_page: Any, dark: bool
) -> None:
    page = open_page("outreach", PHONE, dark=dark)
    look = "low-light" if dark else "light"
    settle(page, "night_map")
    # The filters fold above the map, in the page: no drawer over the map.
    filters = page.get_by_test_id("stExpander").filter(has_text="Filters").first
    expect(filters).to_be_visible()
    box = page.locator(MAP).first.bounding_box()
    fold = filters.bounding_box()
    assert box is not None
    assert fold is not None
    assert fold["y"] < box["y"], "the filters are not above the map"
    page.screenshot(path=SHOTS / f"outreach-night_map-phone-{look}.png")

    # A vertical swipe that starts on the map scrolls the page (a finger's touches, as the
    # phone's touchscreen sends them, on the map's canvas).
    main = page.get_by_test_id("stMain")
    main.evaluate(
        "m => { m.scrollTop += document.querySelector('" + MAP + "')"
        ".getBoundingClientRect().top - 150; }"
    )
    page.wait_for_timeout(500)
    x, y = PHONE["width"] / 2.0, 500.0
    assert page.evaluate(f"() => !!document.elementFromPoint({x}, {y}).closest('{MAP}')"), (
        "the swipe would not start on the map"
    )
    before = main.evaluate("m => m.scrollTop")
    swipe(page, x, y, -250)
    after = main.evaluate("m => m.scrollTop")
    assert after > before + 100, f"a swipe on the map did not scroll the page ({before}->{after})"
    page.screenshot(path=SHOTS / f"outreach-night_map-phone-{look}-scrolled.png")

    # A tap on a hexagon opens its detail, in view.
    page.locator(MAP).first.scroll_into_view_if_needed()
    page.wait_for_timeout(500)
    x, y = _a_hexagon(page)
    page.touchscreen.tap(x, y)
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible(timeout=30_000)
    expect(dialog.get_by_text("By hour of the night")).to_be_visible(timeout=60_000)
    shown = dialog.bounding_box()
    assert shown is not None
    assert shown["y"] < PHONE["height"] - 100, "the detail opened below the fold"
    expect(dialog.get_by_role("heading").first).to_contain_text("Near ")  # its streets
    page.wait_for_timeout(1_500)
    page.screenshot(path=SHOTS / f"outreach-detail-phone-{look}.png")
    assert not low_contrast(page), low_contrast(page)
    if dark:
        assert mean_luminance(dialog.screenshot()) < 0.25, "a bright dialog in low light"


def swipe(page: Page, x: float, y: float, dy: float) -> None:
    """Swipe a finger from (x, y) by ``dy`` pixels, in ten moves, as a touchscreen does."""
    session = page.context.new_cdp_session(page)
    session.send(
        "Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": x, "y": y}]}
    )
    for k in range(1, 11):
        point = {"x": x, "y": y + dy * k / 10}
        session.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [point]})
        page.wait_for_timeout(16)
    session.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    page.wait_for_timeout(800)


def _a_hexagon(page: Page) -> tuple[float, float]:
    """Return a point of the page on a drawn hexagon (an incident or outreach one)."""
    chart = page.locator(MAP).first
    box = chart.bounding_box()
    assert box is not None
    background = (
        (14, 17, 23)
        if page.evaluate("() => getComputedStyle(document.querySelector('.stApp')).backgroundColor")
        == "rgb(14, 17, 23)"
        else (255, 255, 255)
    )
    colours = {layer: LAYER_COLOURS[layer] for layer in ("incident", "outreach")}
    for _ in range(30):
        shot = map_pixels(chart.screenshot(), background, colours)
        px = shot.rgb.astype(np.float64)
        target = np.asarray(LAYER_COLOURS["incident"], dtype=np.float64)
        distance = np.linalg.norm(px - target, axis=2)
        ys, xs = np.nonzero(distance < 60)
        if len(xs):
            i = len(xs) // 2
            scale = box["width"] / shot.rgb.shape[1]
            return box["x"] + xs[i] * scale, box["y"] + ys[i] * scale
        page.wait_for_timeout(500)
    raise AssertionError("no hexagon drawn on the phone's map")


def test_contrast_of_black_on_white_is_21() -> None:
    """The contrast measure itself: WCAG's reference values."""
    assert math.isclose(contrast([0, 0, 0], [255, 255, 255]), 21.0, rel_tol=1e-3)
    assert math.isclose(contrast([118, 118, 118], [255, 255, 255]), 4.54, rel_tol=1e-2)


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_an_outreach_lead_plans_tonight_in_low_light(
    open_page: Any, browser: Browser, size: str
) -> None:
    """The route planner as the van would use it: plan the night, see each team's route drawn
    (in its colour, not flooding the map), read every text, print a page per team."""
    phone = size == "phone"
    page = open_page("outreach", PHONE if phone else DESKTOP, dark=True)
    if phone:
        page.get_by_test_id("stExpandSidebarButton").click()
    page.get_by_role("link", name=MENU_TITLES["route"], exact=True).click()
    page.get_by_role("button", name="Plan the route").click()
    page.get_by_role("heading", name="Run sheet").wait_for(timeout=180_000)
    settle(page, "route")
    page.screenshot(path=SHOTS / f"outreach-route-{size}-low-light.png")
    assert low_contrast(page) == []
    deck = page.locator("[data-testid=stDeckGlJsonChart]").first
    deck.scroll_into_view_if_needed()
    page.wait_for_timeout(1_500)
    with Image.open(io.BytesIO(deck.screenshot())) as img:
        rgb = np.asarray(img.convert("RGB"), dtype=np.int64).reshape(-1, 3)
    team = np.abs(rgb - np.asarray(team_colour(1))).max(axis=1) <= 30
    assert team.sum() > 200, "team 1's route is not drawn"
    assert team.mean() < 0.3, f"team 1's colour floods {team.mean():.0%} of the map"
    with page.expect_download() as download:
        page.get_by_role("button", name="Download Printable run sheet").click()
    sheet = browser.new_page()
    sheet.goto(f"file://{download.value.path()}")
    pages = re.findall(rb"/Type\s*/Page\b", sheet.pdf(format="A4"))
    sheet.close()
    assert len(pages) == 2  # one team's page, then the services open and the stops left out
