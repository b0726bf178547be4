"""``streetsafe area``: a study area (``STREETSAFE_STUDY_AREA``) built from a town's ward files.

Registered on the command line as ``app.command("area")(area)``. It reads the ward files as
``STREETSAFE_WARDS`` reads them (so a set of files it accepts is one the dashboard accepts) and
writes their union as GeoJSON, to ``--out`` whole or not at all, else to standard output.
Exit status: 0 written, 1 a file could not be read or written, 2 a usage error.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

from geo.errors import StreetsafeError

# The same option as the other commands' --out (streetsafe.cli imports this module: a copy here,
# not an import back, keeps the two free of a cycle).
OutOption = Annotated[
    Path | None, typer.Option("--out", help="Write here instead of stdout.", show_default=False)
]

err = Console(stderr=True)


def area(
    files: Annotated[
        list[Path],
        typer.Argument(
            metavar="FILE",
            help="Ward boundary files (GeoJSON, WGS84), e.g. one per former district.",
            show_default=False,
        ),
    ],
    from_wards: Annotated[
        bool,
        typer.Option(
            "--from-wards",
            help="The FILEs are wards: the area is their union, gaps and slivers between "
            "them closed.",
        ),
    ] = False,
    name: Annotated[
        str | None,
        typer.Option(
            help="The area's name, as messages give it (default: the files' names).",
            show_default=False,
        ),
    ] = None,
    out_path: OutOption = None,
) -> None:
    """Build a study area (for STREETSAFE_STUDY_AREA) from ward files, as GeoJSON."""
    from shapely.geometry import shape

    from geo.outline import area_m2
    from streetsafe.boundaries import study_area_geojson

    if not from_wards:
        _fail("say what the files are: streetsafe area --from-wards FILE...", status=2)
    try:
        doc = study_area_geojson(tuple(files), name=name)
    except StreetsafeError as exc:
        from streetsafe.messages import user_message

        _fail(user_message(exc))
    _write(json.dumps(doc) + "\n", out_path)
    feature = doc["features"][0]
    geometry = shape(feature["geometry"])
    parts = len(getattr(geometry, "geoms", [geometry]))
    err.print(
        f"{out_path or 'standard output'}: {feature['properties']['name']}, "
        f"{feature['properties']['wards']} wards from {len(files)} "
        f"file{'s' if len(files) > 1 else ''}, {area_m2(geometry) / 1e6:,.1f} km² in "
        f"{parts} part{'s' if parts > 1 else ''}",
        highlight=False,
        soft_wrap=True,
        markup=False,
    )


def _write(text: str, out_path: Path | None) -> None:
    """Write ``text`` to ``out_path`` whole or not at all (a temporary file renamed), or stdout."""
    if out_path is None:
        sys.stdout.write(text)
        return
    from ingest.files import atomic_text

    try:
        with atomic_text(out_path) as fh:
            fh.write(text)
    except OSError as exc:
        _fail(f"could not write {out_path}: {exc.strerror or exc}")


def _fail(message: str, *, status: int = 1) -> NoReturn:
    """Print one error line and exit with ``status`` (never a traceback)."""
    err.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(status) from None
