"""The services open tonight: a deployment's services file loaded into its store, and which of
the services are open during a night's shift (for the map's tooltips and the run sheet)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import IO

import pandas as pd

from geo.area import StudyArea
from geo.errors import ConfigError, StoreError
from geo.nights import WEEKDAYS
from geo.opening import WeeklyHours, hours_text, open_during
from ingest.services import Rejected, ServicesFile, read_services
from store import Store


@dataclass(frozen=True)
class ServicesSummary:
    """What loading a services file did: its rows, those stored, those rejected and why."""

    source: str
    rows: int
    accepted: int
    rejected: int
    rejects: list[Rejected] = field(default_factory=list, repr=False)
    # whether the store's services were replaced (not when every row of the file was rejected)
    replaced: bool = True
    file: ServicesFile | None = field(default=None, repr=False)  # to write the rejects from


def load_services(
    store: Store,
    path: IO[bytes] | str | Path,
    area: StudyArea | None = None,
    *,
    source: str | None = None,
) -> ServicesSummary:
    """Read a services file and make its good rows the store's services, in one transaction.

    As with report files (ingest/pipeline.py), rejected rows do not stop the file: the good
    rows are stored and the rejects returned with their reasons. The file is the whole list, so
    a service rejected is missing from the store until its row is mended and the file loaded
    again. One exception: a file with rows none of which could be read (the template's example
    rows, another kind of file with the same columns) leaves the stored services as they were,
    rather than leaving the night with none. A file of a header alone does empty the list.

    Raises :class:`~geo.errors.SchemaError` (store untouched) when the file cannot be read as a
    services file.
    """
    read = read_services(path, area=area, source=source)
    accepted = len(read.services)
    replaced = accepted > 0 or read.rows == 0
    if replaced:
        store.replace_services(read.services)
    return ServicesSummary(
        source=read.source,
        rows=read.rows,
        accepted=accepted,
        rejected=len(read.rejects),
        rejects=read.rejects,
        replaced=replaced,
        file=read,
    )


def services_frame(store: Store) -> pd.DataFrame:
    """Return the store's services (see :meth:`store.Store.services`) with their opening hours
    read, as :class:`~geo.opening.WeeklyHours` in the column ``weekly``."""
    return _with_weekly(store.services())


def open_services(
    services: Store | pd.DataFrame, night: date, start_min: int, end_min: int
) -> pd.DataFrame:
    """Return the services open at any time of the window [``start_min``, ``end_min``) of
    ``night`` (minutes from 00:00 on the night's date: :func:`geo.opening.parse_shift`), with
    ``open_text`` saying when (``open all night``, ``open until 02:00``...).

    ``services``: a store, or its services as :func:`services_frame` (or the store) gives them.
    """
    frame = services_frame(services) if isinstance(services, Store) else services
    if "weekly" not in frame.columns:
        frame = _with_weekly(frame)
    weekly = frame["weekly"].tolist()
    keep = [open_during(hours, night, start_min, end_min) for hours in weekly]
    texts = [
        hours_text(hours, night, start_min, end_min)
        for hours, kept in zip(weekly, keep, strict=True)
        if kept
    ]
    out = frame.loc[keep].reset_index(drop=True)
    out["open_text"] = pd.Series(texts, dtype="str")
    return out


def _with_weekly(frame: pd.DataFrame) -> pd.DataFrame:
    weekly = []
    for row in frame.loc[:, ["name", *WEEKDAYS]].itertuples(index=False):
        try:
            weekly.append(WeeklyHours.parse([str(cell) for cell in row[1:]]))
        except ConfigError as exc:
            raise StoreError(
                f"the stored service {row[0]!r} has opening hours that cannot be read ({exc}); "
                "load the services file again"
            ) from None
    return frame.assign(weekly=pd.Series(weekly, index=frame.index, dtype=object))
