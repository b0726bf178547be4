"""Files the product writes for people (rejects, exports): whole or not at all, and safe to open
in a spreadsheet."""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

import pandas as pd


@contextmanager
def atomic_text(path: Path) -> Iterator[TextIO]:
    """Yield a text file that replaces ``path`` only once fully written and flushed to disk.

    An error or a kill half-way leaves ``path`` as it was (and no partial file beside it, except
    a hidden temporary one after a kill).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", newline="", encoding="utf-8") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# OWASP's rule against CSV (formula) injection: a cell a spreadsheet would read as a formula
# starts with one of these. A plain number ("-1.4044", "+44") is a number to a spreadsheet,
# never a formula, and stays as it is: a rejects file of Southampton's longitudes must not
# come back as "'-1.4044".
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# A cell already starting with quotes before such a character ("'=1") gets one more, so that
# taking one away when a rejects file is read again gives back exactly what was sent.
_FORMULA = r"^'*[=+\-@\t\r]"
_PLAIN_NUMBER = r"^[+-]?(?:[0-9]+(?:[.,][0-9]*)?|[.,][0-9]+)(?:[eE][+-]?[0-9]+)?$"
_ESCAPED = r"^'(?='*[=+\-@\t\r])"


def safe_cell(value: str) -> str:
    """One text cell as :func:`spreadsheet_safe` writes it."""
    if re.match(_FORMULA, value) and not re.fullmatch(_PLAIN_NUMBER, value):
        return "'" + value
    return value


def spreadsheet_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """Return ``frame`` with every text cell a spreadsheet would run as a formula prefixed with
    ``'`` (so ``=HYPERLINK(...)`` shows as text); numbers and other cells as they are."""
    out = frame.copy()
    for column in out.columns:
        values = out[column]
        if not (pd.api.types.is_object_dtype(values) or pd.api.types.is_string_dtype(values)):
            continue
        text = values.astype("string")
        risky = text.str.contains(_FORMULA, regex=True) & ~text.str.fullmatch(_PLAIN_NUMBER)
        risky = risky.fillna(False).astype(bool)
        if risky.any():
            out[column] = values.where(~risky, "'" + text)
    return out


def spreadsheet_csv(frame: pd.DataFrame) -> str:
    """Return ``frame`` as CSV text safe to open in a spreadsheet (:func:`spreadsheet_safe`)."""
    return str(spreadsheet_safe(frame).to_csv(index=False))


def restore_escaped(frame: pd.DataFrame) -> pd.DataFrame:
    """Undo :func:`spreadsheet_safe` on a file streetsafe wrote (a rejects file being ingested
    again): ``'=...`` becomes ``=...`` as it was first sent."""
    out = frame.copy()
    for column in out.columns:
        values = out[column]
        if pd.api.types.is_object_dtype(values) or pd.api.types.is_string_dtype(values):
            out[column] = values.str.replace(_ESCAPED, "", regex=True)
    return out
