"""The one place where errors become messages for people (CLI lines, dashboard banners)."""

from __future__ import annotations

from geo.errors import (
    ConfigError,
    FilterError,
    IngestError,
    PolicyError,
    StoreError,
    StreetsafeError,
    UndoError,
)

_PREFIX: list[tuple[type[StreetsafeError], str]] = [
    (ConfigError, "configuration"),
    (StoreError, "store"),
    (PolicyError, "not allowed"),
    (FilterError, "filter"),
    (IngestError, "file"),
    (UndoError, "cannot undo"),
]


def user_message(exc: StreetsafeError) -> str:
    """Return the message to show for ``exc``: what is wrong, where, and what to do."""
    for cls, prefix in _PREFIX:
        if isinstance(exc, cls):
            return f"{prefix}: {exc}"
    return str(exc)
