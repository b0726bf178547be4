"""The one error hierarchy of streetsafe; every class also derives from a built-in."""

from __future__ import annotations


class StreetsafeError(Exception):
    """Base of every error streetsafe raises on purpose; its message is fit to show a user."""


class ConfigError(StreetsafeError, ValueError):
    """A setting, key file, policy file or deployment list (gazetteer, a service's opening
    hours) is missing or malformed."""


class IngestError(StreetsafeError, ValueError):
    """An input file cannot be ingested."""


class SchemaError(IngestError):
    """A whole file is unreadable: empty, binary, or missing required columns.

    Nothing from such a file reaches the store.
    """

    def __init__(self, message: str, *, source: str | None = None) -> None:
        self.source = source
        super().__init__(f"{source}: {message}" if source else message)


class RowError(IngestError):
    """One row of an input file is invalid: where it is and why."""

    def __init__(self, *, line: int, column: str, value: str, reason: str) -> None:
        self.line = line
        self.column = column
        self.value = value
        self.reason = reason
        super().__init__(f"line {line}, column {column!r}, value {value!r}: {reason}")


class StoreError(StreetsafeError, RuntimeError):
    """The store could not be opened, migrated, read or written."""


class FilterError(StreetsafeError, ValueError):
    """A query filter (hours, weekdays, dates, resolution, layer, category) is malformed."""


class PolicyError(StreetsafeError, PermissionError):
    """A role asked for something its privacy policy does not allow."""


class UndoError(StreetsafeError, ValueError):
    """An upload cannot be undone: there is no such upload, it is someone else's, or a later
    upload of the same uploader came after it (only the latest may be undone)."""
