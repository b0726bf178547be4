"""The dashboard's two looks: a light one that stays light (and readable) in a dark-mode browser,
and the low-light one for a van at night, dark in every widget, menu, table, chart and map.

Streamlit draws its widgets from one theme per server (``--theme.base light``, set by
``streetsafe dashboard``); the low-light switch is per person, so it is a style sheet over that
theme. Tables are drawn on a canvas no style sheet reaches: they are inverted (their colours are
greys, which inversion keeps). Charts and maps draw their own dark colours (dashboard.charts,
dashboard.mapping), so that a layer's colour is the same everywhere.

Contrast: every text on every page is checked at 4.5:1 or more in both looks by the browser
test (tests/e2e/test_browser.py).
"""

from __future__ import annotations

import streamlit as st

TEXT = "#e6e8eb"
FAINT = "#b4bac4"  # captions: 9.6:1 on the background
BACKGROUND = "#0e1117"
SURFACE = "#1b1f27"  # widgets, menus, notices
BORDER = "#4a5060"
LINK = "#8ab4f8"

# Always: captions and help text darker than Streamlit's 60 % grey (3.8:1, under WCAG's 4.5:1);
# on a phone, a vertical swipe over the map scrolls the page (a sideways drag or two fingers
# move the map), so the map never traps the page.
BASE_CSS = """
<style>
[data-testid="stCaptionContainer"], [data-testid="stCaptionContainer"] p,
[data-testid="stWidgetLabel"] small, [data-testid="stMetricDelta"] {
  color: rgba(49, 51, 63, 0.9) !important;
}
[data-testid="stMetricDelta"], [data-testid="stMetricDelta"] * {
  background-color: transparent !important;
}
[data-testid="stMetricDelta"] svg { display: none; }
@media (max-width: 640px) {
  [data-testid="stDeckGlJsonChart"], [data-testid="stDeckGlJsonChart"] * {
    touch-action: pan-y !important;
  }
}
</style>
"""

DARK_CSS = f"""
<style>
html, body, .stApp, [data-testid="stHeader"], [data-testid="stBottom"] > div,
[data-testid="stMain"], [role="dialog"] {{
  background-color: {BACKGROUND} !important; color: {TEXT} !important;
}}
[data-testid="stSidebar"], [data-testid="stSidebar"] > div {{
  background-color: #151922 !important;
}}
.stApp *, [data-testid="portal"] *, [role="dialog"] * {{ color: {TEXT}; }}
[data-testid="stCaptionContainer"], [data-testid="stCaptionContainer"] p,
[data-testid="stWidgetLabel"] small, [data-testid="stMetricDelta"] {{
  color: {FAINT} !important;
}}
.stApp a, .stApp a * {{ color: {LINK} !important; }}
/* inputs, drop-downs and their menus, the date picker, chips */
.stApp input, .stApp textarea, [data-testid="stMultiSelect"] div,
[data-testid="stSelectbox"] div, [data-testid="stTimeInput"] div, [data-testid="stDateInputField"],
[data-testid="stFileUploaderDropzone"], [data-testid^="stFileChip"],
[data-testid^="stFileChip"] *, [data-testid$="Dropdown"], [data-testid$="Dropdown"] *,
[data-testid^="stDateInputCalendar"], [data-testid^="stDateInputCalendar"] *,
[data-testid$="Popover"], [data-testid$="Popover"] *, [data-testid="portal"] [role="listbox"],
[data-testid="portal"] [role="option"], [data-testid^="stTooltip"][data-testid$="Content"],
[data-testid^="stTooltip"][data-testid$="Content"] * {{
  background-color: {SURFACE} !important; color: {TEXT} !important;
  border-color: {BORDER} !important;
}}
.stApp input::placeholder {{ color: {FAINT} !important; opacity: 1; }}
[data-testid="stDateInputFieldsScroller"] * {{ color: {FAINT} !important; opacity: 1; }}
[data-testid$="Dropdown"] [role="option"]:hover,
[data-testid$="Dropdown"] [aria-selected="true"] {{ background-color: #2a3140 !important; }}
[data-testid="stMultiSelectTagsContainer"] > :not(input),
[data-testid="stMultiSelectTagsContainer"] > :not(input) * {{
  background-color: #2d3a4f !important; color: {TEXT} !important;
}}
[data-testid="stSliderThumbValue"], [data-testid="stSliderTickBarMin"],
[data-testid="stSliderTickBarMax"] {{ color: {TEXT} !important; }}
[data-testid="stMetricDelta"], [data-testid="stMetricDelta"] * {{
  background-color: transparent !important; color: {FAINT} !important;
}}
/* buttons (downloads included) and notices: no bright boxes in a dark van */
[data-testid^="stBaseButton"] {{
  background-color: {SURFACE} !important; color: {TEXT} !important;
  border: 1px solid {BORDER} !important;
}}
[data-testid="stBaseButton-primary"] {{ background-color: #24548a !important; }}
[data-testid="stBaseButton-headerNoPadding"], [data-testid="stBaseButton-elementToolbar"] {{
  border: none !important; background-color: transparent !important;
}}
[data-testid="stAlertContainer"], [data-testid="stExpander"] details,
[data-testid="stExpander"] summary {{
  background-color: {SURFACE} !important; border-color: {BORDER} !important;
}}
/* tables: a canvas; its light greys inverted to dark ones */
[data-testid="stDataFrame"] {{ filter: invert(1) hue-rotate(180deg); }}
[data-testid="stDataFrame"] * {{ color: inherit; }}
</style>
"""


def apply(*, dark: bool) -> None:
    """Write the page's style sheet: the base one, and the low-light one if ``dark``."""
    st.markdown(BASE_CSS + (DARK_CSS if dark else ""), unsafe_allow_html=True)


def is_phone() -> bool:
    """Whether the browser says it is a phone ("Mobi" in its user agent, as browsers write
    it): its filters then sit above the map, not in a drawer over it."""
    agent = st.context.headers.get("User-Agent", "") if st.context.headers else ""
    return "Mobi" in agent
