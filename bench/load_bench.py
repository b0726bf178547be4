"""Many people at once: dashboard sessions changing filters together, on loopback.

    python -m bench.load_bench [--sessions 20] [--changes 20] [--think 2.0]

Starts ``streetsafe dashboard`` in demo mode on a fresh demo store and connects sessions to it
as browsers do (Streamlit's websocket protocol, no browser), each opening the Night map as the
outreach lead, then changing the filters ``--changes`` times: the hours, nights of the week and
layers of a link, as a person moving the sliders would. A rerun's time is from the request to
the server's "script finished" (server work and the transfer of the page, not the browser's
drawing). Between two changes a session looks at the map for ``--think`` seconds (each pause
drawn between half and one and a half times that, seeded), as a person does; the same sessions
are then run again with no pause at all, the server's worst case. The baseline, measured in the
same run, is one session alone doing the same.

Prints medians and 95th percentiles, and the ratio of the many to the one.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from bench import RESULTS, ROOT

HOURS = ("22-04", "21-03", "20-02", "23-05", "00-06", "18-06", "22-02", "20-04")
NIGHTS = ("", "fri,sat", "sat", "mon,tue,wed,thu", "fri")
LAYERS = ("incident,outreach", "incident", "outreach", "incident,outreach,asb")


def questions(session: int, changes: int) -> list[str]:
    """Return a session's links: its own walk through the filters (sessions overlap on some
    questions, as people do, and differ on others)."""
    out = []
    for i in range(changes + 1):
        k = session * 7 + i
        params = {"role": "outreach", "hours": HOURS[k % len(HOURS)]}
        nights = NIGHTS[(k // len(HOURS)) % len(NIGHTS)]
        if nights:
            params["weekdays"] = nights
        params["layers"] = LAYERS[(k // 3) % len(LAYERS)]
        out.append("&".join(f"{key}={value}" for key, value in params.items()))
    return out


async def session(port: int, links: list[str], think: float = 0.0, seed: int = 0) -> list[float]:
    """Open the Night map with the first link, then rerun with each next, pausing about
    ``think`` seconds between; return the reruns' times in seconds (the first, opening the
    page, is left out)."""
    import random

    pause = random.Random(seed)
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
    from websockets.asyncio.client import connect
    from websockets.typing import Subprotocol

    conn = await connect(
        f"ws://127.0.0.1:{port}/_stcore/stream",
        subprotocols=[Subprotocol("streamlit")],
        max_size=None,
    )
    times = []
    try:
        for i, link in enumerate(links):
            msg = BackMsg()
            msg.rerun_script.query_string = link
            msg.rerun_script.page_script_hash = ""
            start = time.perf_counter()
            await conn.send(msg.SerializeToString())
            while True:
                data = await asyncio.wait_for(conn.recv(), timeout=300)
                if isinstance(data, str):
                    continue
                forward = ForwardMsg()
                forward.ParseFromString(data)
                if forward.WhichOneof("type") == "script_finished":
                    break
            if i:
                times.append(time.perf_counter() - start)
            if think:
                await asyncio.sleep(think * pause.uniform(0.5, 1.5))
    finally:
        await conn.close()
    return times


async def many(port: int, sessions: int, changes: int, think: float = 0.0) -> list[float]:
    """Run ``sessions`` sessions at once; return every rerun's time."""
    runs = await asyncio.gather(
        *(session(port, questions(s, changes), think, seed=s) for s in range(sessions))
    )
    return [t for times in runs for t in times]


def p95(values: list[float]) -> float:
    """The 95th percentile (nearest rank)."""
    ordered = sorted(values)
    return ordered[max(0, round(0.95 * len(ordered)) - 1)]


def serve(store: Path, port: int, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """Start ``streetsafe dashboard`` in demo mode; return once it answers."""
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "streetsafe.cli",
                "dashboard",
                "--store",
                str(store),
                "--port",
                str(port),
                "--headless",
                "--demo",
            ],
            env=env,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2):
                return proc
        except OSError:
            time.sleep(0.5)
    proc.kill()
    raise RuntimeError(f"the dashboard did not start: see {log}")


def demo_store(work: Path, *demo_args: str) -> tuple[dict[str, str], Path, int]:
    """Make a demo store in ``work`` (``streetsafe demo`` with ``demo_args``); return the
    environment to run streetsafe in (no settings of this machine's, a throwaway key), the
    store, and a loopback port free a moment ago for its dashboard."""
    import socket

    env = {k: v for k, v in os.environ.items() if not k.startswith(("STREETSAFE_", "STREAMLIT_"))}
    env |= {
        "HOME": str(work),
        "STREETSAFE_PSEUDONYM_KEY": "ab" * 32,
        "STREAMLIT_SERVER_FILE_WATCHER_TYPE": "none",
    }
    store = work / "demo.duckdb"
    subprocess.run(
        [sys.executable, "-m", "streetsafe.cli", "demo", "--store", str(store), *demo_args],
        env=env,
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return env, store, port


def run(sessions: int, changes: int, think: float) -> dict[str, Any]:
    """Run the benchmark; print and return the figures."""
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        env, store, port = demo_store(work)
        proc = serve(store, port, env, work / "dashboard.log")
        try:
            asyncio.run(session(port, questions(99, 3)))  # the server's first page: caches
            alone = asyncio.run(many(port, 1, changes))
            together = asyncio.run(many(port, sessions, changes, think))
            stress = asyncio.run(many(port, sessions, changes))
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    figures: dict[str, Any] = {"sessions": sessions, "changes": changes, "think_s": think}
    for name, times in (("alone", alone), ("together", together), ("no_pause", stress)):
        figures[f"{name}_median_s"] = statistics.median(times)
        figures[f"{name}_p95_s"] = p95(times)
        figures[f"{name}_p95_ratio"] = p95(times) / p95(alone)
    for name, label in (
        ("alone", "one session alone"),
        ("together", f"{sessions} sessions, pausing ~{think:g} s"),
        ("no_pause", f"{sessions} sessions, no pause"),
    ):
        print(
            f"{label:32} median {figures[f'{name}_median_s']:.3f} s, "
            f"p95 {figures[f'{name}_p95_s']:.3f} s "
            f"({figures[f'{name}_p95_ratio']:.1f}x alone)"
        )
    print("target: p95 under 1 s with people's pauses")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "load_bench.json").write_text(json.dumps(figures, indent=2))
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--changes", type=int, default=20)
    parser.add_argument("--think", type=float, default=2.0, help="seconds between changes")
    args = parser.parse_args()
    run(args.sessions, args.changes, args.think)


if __name__ == "__main__":
    main()
