"""The files streetsafe ships (``data/``, installed as ``streetsafe.data``), found wherever it is
installed: from a clone, an editable install or a wheel."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from geo.errors import ConfigError


def data_file(*parts: str) -> Path:
    """Return the path of a shipped data file, e.g. ``data_file("templates", "asb.csv")``.

    The package is installed as files (not zipped), so the path can be opened by any library.
    """
    path = Path(str(resources.files("streetsafe.data").joinpath(*parts)))
    if not path.exists():
        raise ConfigError(f"streetsafe's shipped data file {'/'.join(parts)} is missing ({path})")
    return path


def data_dir(*parts: str) -> Path:
    """Return the path of a shipped data folder, e.g. ``data_dir("policeuk")``."""
    return data_file(*parts)
