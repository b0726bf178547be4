"""``streetsafe area``: a study area (``STREETSAFE_STUDY_AREA``) built from a town's ward files.

Registered on the command line as ``app.command("area")(area)``. It reads the ward files as
``STREETSAFE_WARDS`` reads them (so a set of files it accepts is one the dashboard accepts) and
writes their union as GeoJSON, to ``--out`` whole or not at all, else to standard output.
Exit status: 0 written, 1 a file could not be read or written, 2 a usage error.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from geo.errors import StreetsafeError
from streetsafe.command_output import OutOption, err, fail, write_out


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
        fail("say what the files are: streetsafe area --from-wards FILE...", status=2)
    try:
        doc = study_area_geojson(tuple(files), name=name)
    except StreetsafeError as exc:
        from streetsafe.messages import user_message

        fail(user_message(exc))
    write_out(json.dumps(doc) + "\n", out_path)
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
