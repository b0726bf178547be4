"""Helpers of the browser test: a throwaway dashboard server, Debian's Chromium, map pixels.

Nothing here downloads anything: Chromium is Debian's (``apt-get install chromium``), the
dashboard serves from localhost, and every request the page makes to another host is recorded
and refused.
"""

from __future__ import annotations

import io
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import numpy as np
from numpy.typing import NDArray
from PIL import Image

if TYPE_CHECKING:
    from playwright.sync_api import ConsoleMessage, Page, Request, Route

CHROMIUM = Path("/usr/bin/chromium")
# Headless, no GPU (WebGL then runs on Chromium's own SwiftShader), and nothing phoning home.
CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def hermetic_env(home: Path, **extra: str) -> dict[str, str]:
    """Return the process environment without streetsafe/Streamlit settings or proxies.

    ``home`` stands in for the home directory, so nothing is read from or written to the
    real one (Streamlit's ``~/.streamlit``, streetsafe's key file).
    """
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("STREETSAFE_", "STREAMLIT_")) and "proxy" not in k.lower()
    }
    env |= {"HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config")}
    env |= extra
    return env


def dashboard_env(work: Path, key: str, **extra: str) -> dict[str, str]:
    """Return the environment a throwaway dashboard runs in: ``work/home`` as the home, the
    pseudonym ``key`` (no key file written), loopback only (this also spares Streamlit's
    look-up of the external IP), no file watcher."""
    home = work / "home"
    home.mkdir(exist_ok=True)
    return hermetic_env(
        home,
        STREETSAFE_PSEUDONYM_KEY=key,
        STREETSAFE_KEY_FILE=str(work / "unused.key"),
        STREAMLIT_SERVER_ADDRESS="127.0.0.1",
        STREAMLIT_SERVER_FILE_WATCHER_TYPE="none",
        **extra,
    )


def run_cli(args: list[str], *, env: Mapping[str, str], cwd: Path) -> str:
    """Run ``python -m streetsafe.cli ARGS``; return its output or fail with it."""
    done = subprocess.run(
        [sys.executable, "-m", "streetsafe.cli", *args],
        env=dict(env),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        raise AssertionError(
            f"streetsafe {' '.join(args)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
        )
    return done.stdout


def _answers(url: str) -> bool:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=2) as response:
            return int(response.status) == 200
    except (urllib.error.URLError, OSError):
        return False


@contextmanager
def dashboard_server(
    store: Path | str,
    *,
    port: int,
    env: Mapping[str, str],
    cwd: Path,
    log: Path,
    timeout: float = 60,
    streetsafe: Sequence[str] = (sys.executable, "-m", "streetsafe.cli"),
) -> Iterator[str]:
    """Run ``streetsafe dashboard`` on ``port`` until the block ends; yield its URL.

    ``streetsafe`` is the command (default: this checkout's, through this Python). The server
    runs in its own process group: ``streetsafe dashboard`` starts Streamlit as a child process,
    and both must go when the test ends, whatever happens.
    """
    url = f"http://127.0.0.1:{port}/"
    cmd = [
        *streetsafe,
        "dashboard",
        "--store",
        str(store),
        "--port",
        str(port),
        "--headless",
    ]
    with log.open("wb") as out:
        proc = subprocess.Popen(
            cmd,
            env=dict(env),
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + timeout
        while not _answers(url):
            if proc.poll() is not None:
                raise AssertionError(
                    f"the dashboard exited ({proc.returncode}) before answering:\n"
                    + log.read_text(errors="replace")
                )
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"the dashboard did not answer {url} within {timeout:.0f} s:\n"
                    + log.read_text(errors="replace")
                )
            time.sleep(0.25)
        yield url
    finally:
        _stop(proc)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    for sig, wait in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 10.0)):
        with suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            continue
        # The group may outlive its leader (Streamlit under ``streetsafe dashboard``).
        deadline = time.monotonic() + 5
        while _group_alive(proc.pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        with suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        return


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


@dataclass
class PageLog:
    """What a page did besides drawing: requests to other hosts, console errors, crashes."""

    external: list[str] = field(default_factory=list)
    console: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def attach(self, page: Page) -> None:
        """Record ``page``'s events, and refuse (abort) every request to a non-local host."""
        page.route("**/*", self._route)
        page.on("console", self._console)
        page.on("pageerror", lambda exc: self.errors.append(str(exc)))

    def _route(self, route: Route, request: Request) -> None:
        if is_local(request.url):
            route.continue_()
        else:
            self.external.append(f"{request.method} {request.url}")
            route.abort("blockedbyclient")

    def _console(self, msg: ConsoleMessage) -> None:
        if msg.type in {"error", "warning"}:
            self.console.append(f"{msg.type}: {msg.text}")

    def report(self) -> str:
        """Return the log as text, for the artefacts folder and failure messages."""
        parts = [
            "requests to other hosts (refused):",
            *(f"  {r}" for r in self.external or ["none"]),
            "console errors and warnings:",
            *(f"  {c}" for c in self.console or ["none"]),
            "uncaught page errors:",
            *(f"  {e}" for e in self.errors or ["none"]),
        ]
        return "\n".join(parts) + "\n"


def is_local(url: str) -> bool:
    """Return whether ``url`` is served from this machine (or is inline data)."""
    parts = urlsplit(url)
    if parts.scheme in {"data", "blob", "about"}:
        return True
    return (parts.hostname or "") in LOCAL_HOSTS


@dataclass(frozen=True)
class MapPixels:
    """Counts of a map screenshot's pixels: coloured at all, and by the layer they look like."""

    total: int
    coloured: int
    by_layer: Mapping[str, int]
    rgb: NDArray[np.uint8]

    def summary(self) -> str:
        """Return the counts as one line."""
        layers = ", ".join(f"{k} {v:,}" for k, v in self.by_layer.items())
        return f"{self.coloured:,} of {self.total:,} pixels coloured ({layers})"


def map_pixels(
    png: bytes, background: tuple[int, int, int], colours: Mapping[str, tuple[int, int, int]]
) -> MapPixels:
    """Count the pixels of a map screenshot that hexagons coloured.

    A pixel is *coloured* when its channels spread by 8 or more (ward lines, labels and the
    hexagons' white outlines are grey; the page background is white or near black). It is
    counted for a layer when it lies on the line from the background to the layer's colour, as
    one translucent hexagon of that layer over the background would draw it (even a faint
    one); where layers overlap the blend belongs to none of them.
    """
    with Image.open(io.BytesIO(png)) as img:
        rgb = np.asarray(img.convert("RGB"), dtype=np.uint8)
    px = rgb.reshape(-1, 3).astype(np.float64)
    coloured = (px.max(axis=1) - px.min(axis=1)) >= 8
    bg = np.asarray(background, dtype=np.float64)
    away = px - bg
    by_layer: dict[str, int] = {}
    for layer, colour in colours.items():
        direction = np.asarray(colour, dtype=np.float64) - bg
        length = float(np.linalg.norm(direction))
        unit = direction / length
        along = away @ unit
        off = np.linalg.norm(away - np.outer(along, unit), axis=1)
        on_line = coloured & (along >= 0.04 * length) & (along <= 1.05 * length) & (off <= 8)
        by_layer[layer] = int(on_line.sum())
    return MapPixels(
        total=int(px.shape[0]), coloured=int(coloured.sum()), by_layer=by_layer, rgb=rgb
    )


def changed_fraction(a: MapPixels, b: MapPixels) -> float:
    """Return the share of pixels that differ noticeably between two same-sized screenshots."""
    if a.rgb.shape != b.rgb.shape:
        return 1.0
    diff = np.abs(a.rgb.astype(np.int16) - b.rgb.astype(np.int16)).max(axis=2)
    return float((diff > 16).mean())


def save_small_png(png: bytes, path: Path, *, max_bytes: int = 400_000) -> int:
    """Write ``png`` to ``path``, as a 256-colour palette image if the full one is too big.

    Return the size written.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    if len(png) <= max_bytes:
        path.write_bytes(png)
        return len(png)
    with Image.open(io.BytesIO(png)) as img:
        small = img.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT)
    buf = io.BytesIO()
    small.save(buf, format="PNG", optimize=True)
    path.write_bytes(buf.getvalue())
    return len(buf.getvalue())
