"""A night on loopback: sessions changing filters for minutes while files are ingested.

    python -m bench.soak [--sessions 10] [--minutes 10] [--ingest-every 60] [--rows 300]

Starts ``streetsafe dashboard --demo`` on a fresh demo store (embedded) and keeps ``--sessions``
sessions busy for ``--minutes``, each as the outreach lead moving through the pages and the
filters (hours, nights of the week, layers) as fast as the server answers, through Streamlit's
own websocket protocol (as :mod:`bench.load_bench`). Every ``--ingest-every`` seconds a file of
``--rows`` incidents on a new night is ingested with ``streetsafe ingest`` from the command line:
the dashboard holds the store, so the command hands its file over.

It checks, and prints:
- no error: no rerun shows an exception or an error notice, and every ingest exits 0 with every
  row accepted or rejected (a random point may fall off the shore), none a duplicate;
- memory: the dashboard's resident memory (all its processes) sampled every 5 s; the bounds
  are that after the first ``--warm`` minutes the median of the run's last half is no more than
  ``--bound-mb`` (default 150) above the median of its first half (no growth with reruns and
  files), and that no sample exceeds ``--cap-mb`` (default 2048);
- every ingested record visible at the end: the page's coverage names the last file's night,
  and the store (opened once the dashboard stops) holds exactly the demo's records plus every
  file's accepted ones, with an upload entry in the audit trail for each file.

Writes ``bench/results/soak.json``. Exit status 1 if a check fails.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from bench import RESULTS, ROOT
from bench.load_bench import HOURS, LAYERS, NIGHTS, demo_store, p95, serve

PAGES = ("", "hotspots", "trends", "data", "about", "route")  # "": the Night map
HEADER = (
    "record_id,occurred_at,latitude,longitude,place,category,severity,agency,person_ref,sharing"
)
FIRST_NIGHT = date(2026, 11, 1)  # the demo ends with October 2026
CATEGORIES = ("violence", "sexual_assault", "robbery", "kerb_crawling", "vehicle_of_concern")


@dataclass
class Tally:
    """What the sessions saw."""

    reruns: list[float] = field(default_factory=list)
    by_page: dict[str, list[float]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    coverage: str = ""


def night_file(path: Path, n: int, rows: int) -> tuple[Path, date]:
    """The ``n``-th file: ``rows`` incidents on a night of their own, in central Southampton."""
    night = FIRST_NIGHT + timedelta(days=n)
    pick = random.Random(n)
    lines = [HEADER]
    for i in range(rows):
        lat = 50.900 + pick.random() * 0.016
        lon = -1.410 + pick.random() * 0.022
        lines.append(
            f"SOAK-{n}-{i},{night} {20 + i % 4}:{i % 60:02d},{lat:.5f},{lon:.5f},,"
            f"{CATEGORIES[i % len(CATEGORIES)]},high,Outreach team,S-{pick.randrange(40)},partners"
        )
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path, night


def link(pick: random.Random) -> str:
    """A filter change, as a person moving the sliders and chips would make it."""
    params = {"role": "outreach", "hours": pick.choice(HOURS), "layers": pick.choice(LAYERS)}
    nights = pick.choice(NIGHTS)
    if nights:
        params["weekdays"] = nights
    return "&".join(f"{k}={v}" for k, v in params.items())


async def rerun(conn: Any, query: str, page: str, tally: Tally) -> None:
    """One rerun: send it, read the page until the script finishes, note what went wrong."""
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    msg = BackMsg()
    msg.rerun_script.query_string = query
    msg.rerun_script.page_name = page
    start = time.perf_counter()
    await conn.send(msg.SerializeToString())
    while True:
        data = await asyncio.wait_for(conn.recv(), timeout=300)
        if isinstance(data, str):
            continue
        forward = ForwardMsg()
        forward.ParseFromString(data)
        kind = forward.WhichOneof("type")
        if kind == "delta" and forward.delta.WhichOneof("type") == "new_element":
            _look(forward.delta.new_element, page, query, tally)
        if kind == "script_finished":
            status = forward.script_finished
            if status == ForwardMsg.FINISHED_WITH_COMPILE_ERROR:
                tally.errors.append(f"{page or 'night map'} ?{query}: the script failed")
            break
    took = time.perf_counter() - start
    tally.reruns.append(took)
    tally.by_page.setdefault(page or "night_map", []).append(took)


def _look(element: Any, page: str, query: str, tally: Tally) -> None:
    where = f"{page or 'night map'} ?{query}"
    kind = element.WhichOneof("type")
    if kind == "exception":
        tally.errors.append(f"{where}: {element.exception.type}: {element.exception.message}")
    elif kind == "alert" and element.alert.format == element.alert.ERROR:
        tally.errors.append(f"{where}: error notice: {element.alert.body[:200]}")
    elif kind == "markdown" and "**Coverage:**" in element.markdown.body:
        tally.coverage = element.markdown.body


async def person(port: int, seed: int, until: float, tally: Tally) -> None:
    """One session: page after page, filter after filter, until ``until``."""
    from websockets.asyncio.client import connect
    from websockets.typing import Subprotocol

    pick = random.Random(seed)
    async with connect(
        f"ws://127.0.0.1:{port}/_stcore/stream",
        subprotocols=[Subprotocol("streamlit")],
        max_size=None,
    ) as conn:
        while time.monotonic() < until:
            page = "" if pick.random() < 0.5 else pick.choice(PAGES)
            await rerun(conn, link(pick), page, tally)


async def ingests(
    work: Path,
    env: dict[str, str],
    store: Path,
    plan: tuple[int, float, int],
    out: list[dict[str, Any]],
) -> None:
    """Ingest a file every ``every`` seconds from the command line, ``files`` of them."""
    files, every, rows = plan
    start_at = time.monotonic()
    for n in range(files):  # on the clock: at every/2, then each ``every`` seconds
        await asyncio.sleep(max(0.0, start_at + every * (n + 0.5) - time.monotonic()))
        path, night = night_file(work / f"night-{n}.csv", n, rows)
        start = time.perf_counter()
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "streetsafe.cli", "ingest", "incidents", str(path),
            "--json", "--store", str(store),
            env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )  # fmt: skip
        stdout, stderr = await proc.communicate()
        summary = json.loads(stdout) if proc.returncode == 0 else {}
        out.append(
            {
                "night": str(night),
                "exit": proc.returncode,
                "accepted": summary.get("accepted", 0),
                # (a point off the shore is rejected "outside study area": every row counted)
                "accounted": sum(summary.get(k, 0) for k in ("accepted", "rejected")),
                "seconds": round(time.perf_counter() - start, 2),
                "handed_over": b"handed to it" in stderr,
                "stderr": stderr.decode(errors="replace")[-500:] if proc.returncode else "",
            }
        )


def rss_mb(pgid: int) -> float:
    """The resident memory of every process of the group ``pgid`` (the dashboard), in MB."""
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            fields_ = stat[stat.rindex(")") + 2 :].split()
            if int(fields_[2]) != pgid:
                continue
            status = Path(f"/proc/{entry}/status").read_text()
        except (OSError, ValueError):
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    return total / 1024


async def sample(pgid: int, until: float, samples: list[tuple[float, float]]) -> None:
    start = time.monotonic()
    while time.monotonic() < until:
        samples.append((time.monotonic() - start, rss_mb(pgid)))
        await asyncio.sleep(5)


async def night(port: int, pgid: int, setup: dict[str, Any]) -> dict[str, Any]:
    """The soak itself: sessions, ingests and memory samples side by side."""
    until = time.monotonic() + setup["minutes"] * 60
    tally = Tally()
    ingested: list[dict[str, Any]] = []
    samples: list[tuple[float, float]] = []
    plan = (int(setup["minutes"] * 60 // setup["every"]), setup["every"], setup["rows"])
    await asyncio.gather(
        *(person(port, s, until, tally) for s in range(setup["sessions"])),
        ingests(setup["work"], setup["env"], setup["store"], plan, ingested),
        sample(pgid, until, samples),
    )
    await asyncio.sleep(2)  # a file shows at the next rerun a second after it is stored
    final = Tally()  # a new session's first look at the Night map, after the last file
    from websockets.asyncio.client import connect
    from websockets.typing import Subprotocol

    async with connect(
        f"ws://127.0.0.1:{port}/_stcore/stream", subprotocols=[Subprotocol("streamlit")]
    ) as conn:
        await rerun(conn, "role=outreach", "", final)
    return {"tally": tally, "final": final, "ingested": ingested, "samples": samples}


def check(result: dict[str, Any], setup: dict[str, Any], stored: dict[str, int]) -> list[str]:
    """What failed, in words (nothing: the night held)."""
    tally, ingested, samples = result["tally"], result["ingested"], result["samples"]
    problems = [f"rerun error: {e}" for e in tally.errors[:20]]
    for row in ingested:
        if row["exit"] != 0 or row["accounted"] != setup["rows"] or not row["handed_over"]:
            problems.append(f"ingest of {row['night']}: {row}")
    last = ingested[-1]["night"] if ingested else ""
    if last and f"to {last}" not in result["final"].coverage:
        problems.append(f"the page's coverage does not reach {last}: {result['final'].coverage!r}")
    if stored["records"] != stored["before"] + sum(row["accepted"] for row in ingested):
        problems.append(f"the store holds {stored['records']:,} records: {stored}")
    if stored["uploads"] != len(ingested):
        problems.append(
            f"{stored['uploads']} upload entries in the audit trail for {len(ingested)}"
        )
    early, late = memory_thirds(samples, setup["warm"])
    if late - early > setup["bound_mb"]:
        problems.append(f"memory grew {late - early:.0f} MB from the middle to the last third")
    peak = max((mb for _, mb in samples), default=0.0)
    if peak > setup["cap_mb"]:
        problems.append(f"memory reached {peak:.0f} MB, over {setup['cap_mb']:g} MB")
    return problems


def memory_thirds(samples: list[tuple[float, float]], warm: float) -> tuple[float, float]:
    """The median resident memory of the first and the last half of the run after ``warm``
    minutes: caches fill and a new file's cube is built beside the old one (peaks that fall
    back), so growth is judged on medians, not on one sample."""
    after = [mb for t, mb in samples if t >= warm * 60]
    if len(after) < 4:
        return 0.0, 0.0
    half = len(after) // 2
    return statistics.median(after[:half]), statistics.median(after[half:])


def run(setup: dict[str, Any]) -> int:
    """Run the soak; print and save the figures; return the exit status."""
    from store import open_store

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        env, store, port = demo_store(work, "--end", "2026-10-31")
        with open_store(str(store), storage_res=10) as st:
            before = st.record_count()
        setup |= {"work": work, "env": env, "store": store}
        proc = serve(store, port, env, work / "dashboard.log")
        try:
            result = asyncio.run(night(port, proc.pid, setup))
        finally:
            proc.terminate()
            proc.wait(timeout=30)
        with open_store(str(store), storage_res=10) as st:
            uploads = st.audit_entries(events=["upload_complete"])
            stored = {"before": before, "records": st.record_count(), "uploads": len(uploads)}
        problems = check(result, setup, stored)
        if problems:
            log = (work / "dashboard.log").read_text(errors="replace")[-3000:]
            problems.append(f"dashboard log (tail):\n{log}")
    return report(result, setup, stored, problems)


def report(
    result: dict[str, Any], setup: dict[str, Any], stored: dict[str, int], problems: list[str]
) -> int:
    tally, ingested, samples = result["tally"], result["ingested"], result["samples"]
    early, late = memory_thirds(samples, setup["warm"])
    figures = {
        "sessions": setup["sessions"],
        "minutes": setup["minutes"],
        "reruns": len(tally.reruns),
        "rerun_median_s": statistics.median(tally.reruns) if tally.reruns else None,
        "rerun_p95_s": p95(tally.reruns) if tally.reruns else None,
        "errors": len(tally.errors),
        "files": len(ingested),
        "ingest_seconds": [row["seconds"] for row in ingested],
        "records_before": stored["before"],
        "records_after": stored["records"],
        "rss_mb_start": samples[0][1] if samples else None,
        "rss_mb_median_first_half": early,
        "rss_mb_median_last_half": late,
        "rerun_median_s_by_page": {
            page: round(statistics.median(times), 3) for page, times in tally.by_page.items()
        },
        "rss_mb_max": max(mb for _, mb in samples) if samples else None,
        "rss_mb_end": samples[-1][1] if samples else None,
        "bound_mb": setup["bound_mb"],
        "coverage_at_end": result["final"].coverage,
        "problems": problems,
    }
    lines = [
        f"{setup['sessions']} sessions for {setup['minutes']:g} min: "
        f"{len(tally.reruns):,} reruns, median {figures['rerun_median_s'] or 0:.2f} s, "
        f"p95 {figures['rerun_p95_s'] or 0:.2f} s, {len(tally.errors)} errors",
        f"{len(ingested)} files ingested while it ran (handed to the dashboard): "
        f"{', '.join(f'{s:.1f}' for s in figures['ingest_seconds'])} s each",
        f"records: {stored['before']:,} before, {stored['records']:,} after "
        f"(+{stored['records'] - stored['before']:,}); {stored['uploads']} upload entries",
        f"memory: {figures['rss_mb_start'] or 0:.0f} MB at start; after {setup['warm']:g} min "
        f"a median of {early:.0f} MB in the first half, {late:.0f} MB in the last; max "
        f"{figures['rss_mb_max'] or 0:.0f}, end {figures['rss_mb_end'] or 0:.0f} (bounds: growth "
        f"under {setup['bound_mb']:g} MB, peak under {setup['cap_mb']:g} MB)",
        "median rerun by page: "
        + ", ".join(f"{k} {v:.2f} s" for k, v in figures["rerun_median_s_by_page"].items()),
    ]
    print("\n".join(lines))
    print(f"coverage at the end: {result['final'].coverage}")
    for problem in problems:
        print(f"FAILED: {problem}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "soak.json").write_text(json.dumps({**figures, "rss_samples": samples}, indent=2))
    return 1 if problems else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=10)
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--ingest-every", dest="every", type=float, default=60)
    parser.add_argument("--rows", type=int, default=300)
    parser.add_argument("--warm", type=float, default=2, help="minutes of warm-up")
    parser.add_argument("--bound-mb", dest="bound_mb", type=float, default=150)
    parser.add_argument("--cap-mb", dest="cap_mb", type=float, default=2048)
    sys.exit(run(vars(parser.parse_args())))


if __name__ == "__main__":
    main()
