"""What the commands share: the ``--out`` option, a file written whole (or standard output),
and one error line with its exit status instead of a traceback."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

OutOption = Annotated[
    Path | None, typer.Option("--out", help="Write here instead of stdout.", show_default=False)
]

err = Console(stderr=True)


def print_error(console: Console, message: str) -> None:
    """Print one error line on ``console`` (the message as written, never as markup)."""
    console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)


def fail(message: str, *, status: int = 1) -> NoReturn:
    """Print one error line and exit with ``status``."""
    print_error(err, message)
    raise typer.Exit(status) from None


def write_out(text: str, out_path: Path | None) -> None:
    """Write ``text`` to ``out_path`` whole or not at all (a temporary file renamed), or to
    standard output; a file that cannot be written is one error line and exit status 1."""
    if out_path is None:
        sys.stdout.write(text)
        return
    from ingest.files import atomic_text

    try:
        with atomic_text(out_path) as fh:
            fh.write(text)
    except OSError as exc:
        fail(f"could not write {out_path}: {exc.strerror or exc}")
