"""The ``streetsafe`` command line: demo data, ingest, and starting the dashboard.

Exit status: 0 when the work was done (even with rejected rows), 1 when a file could not be read
or the store failed, 2 for a usage error.
"""

from __future__ import annotations

import io
import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import replace
from datetime import date, timedelta
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TaskID, TimeRemainingColumn
from rich.table import Table

from geo.errors import StreetsafeError
from ingest.files import spreadsheet_csv
from streetsafe.area_command import area
from streetsafe.command_output import OutOption, print_error, write_out
from streetsafe.messages import user_message

app = typer.Typer(
    help="streetsafe: a night-time street-safety map with privacy protection built in.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console()
err = Console(stderr=True)

StoreOption = Annotated[
    str | None,
    typer.Option(
        "--store",
        help="Store URL: a file path (embedded) or postgresql://… (env: STREETSAFE_STORE)",
        show_default=False,
    ),
]

# Options the view exports share (map, hotspots).
RoleOption = Annotated[str, typer.Option(help="Whose view: a role of the policy file.")]
ResOption = Annotated[
    int | None,
    typer.Option(help="H3 resolution (default: the finest the role may see).", show_default=False),
]
HoursOption = Annotated[
    str | None,
    typer.Option(help="Hour range, e.g. 22-04 (wraps midnight).", show_default=False),
]
WeekdaysOption = Annotated[
    str | None, typer.Option(help="Weekdays of the night, e.g. fri,sat.", show_default=False)
]
FromOption = Annotated[
    str | None,
    typer.Option(
        "--from", help="First night (YYYY-MM-DD); a partner: month (YYYY-MM).", show_default=False
    ),
]
ToOption = Annotated[
    str | None,
    typer.Option(
        "--to", help="Last night (YYYY-MM-DD); a partner: month (YYYY-MM).", show_default=False
    ),
]
CategoriesOption = Annotated[
    str | None,
    typer.Option(help="Comma-separated categories (a partner: groups).", show_default=False),
]

PROGRESS_MIN_BYTES = 5 << 20  # show a progress bar for files larger than this


class KindName(StrEnum):
    """The report kinds ``ingest`` reads."""

    incidents = "incidents"
    outreach = "outreach"
    asb = "asb"
    policeuk = "policeuk"
    services = "services"


@contextmanager
def _failures() -> Iterator[None]:
    """Turn streetsafe's own errors into one message and exit status 1 (never a traceback)."""
    try:
        yield
    except StreetsafeError as exc:
        print_error(err, user_message(exc))
        raise typer.Exit(1) from None


def _settings(store: str | None) -> Any:
    from streetsafe.settings import Settings

    return Settings.from_env(store=store)


@app.command()
def ingest(
    kind: Annotated[KindName, typer.Argument(help="What the files hold.")],
    paths: Annotated[list[Path], typer.Argument(help="CSV files to ingest.", show_default=False)],
    rejects: Annotated[
        Path | None,
        typer.Option(
            help="Write rejected rows here as CSV, to fix and ingest again (with several "
            "files: a folder, one FILE.rejects.csv each).",
            show_default=False,
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
    from_agency: Annotated[
        str | None,
        typer.Option(
            "--from",
            help='A partner agency whose file this is (e.g. "Police NPT"): every row is '
            "stamped with it, and its records form a pool of their own in partner releases, "
            "counting towards no one else's k. Without it the files are the operator's own, "
            "trusted.",
            show_default=False,
        ),
    ] = None,
    store: StoreOption = None,
) -> None:
    """Ingest report files, each landing whole or not at all; or the services file (the
    deployment's whole list of services, replacing the last).

    On an embedded store a running dashboard holds, the files are handed to it to ingest."""
    from store import open_store
    from streetsafe.handoff import hand_over
    from streetsafe.ingest_command import Consoles, IngestRequest, run_ingest

    request = IngestRequest(
        kind=kind.value,
        paths=tuple(path.absolute() for path in paths),
        rejects=None if rejects is None else rejects.absolute(),
        as_json=as_json,
        from_agency=from_agency,
    )
    consoles = Consoles(out=out, err=err)
    with _failures():
        settings = _settings(store)

    def bars() -> _ProgressBars:
        return _ProgressBars(paths, quiet=as_json)

    code = hand_over(settings.store, request, consoles=consoles, bars=bars)
    if code is None:
        with bars() as shown:
            code = run_ingest(
                request,
                settings=settings,
                open_store=lambda: open_store(settings.store, storage_res=settings.storage_res),
                consoles=consoles,
                bars=shown,
            )
    if code:
        raise typer.Exit(code)


class _ProgressBars:
    """A progress bar for each large file, shown (on stderr) while any of them is ingesting."""

    def __init__(self, paths: list[Path], *, quiet: bool) -> None:
        self._paths = paths
        self._sizes = [path.stat().st_size if path.is_file() else 0 for path in paths]
        self._bars: Progress | None = None
        if not quiet and any(size >= PROGRESS_MIN_BYTES for size in self._sizes):
            self._bars = Progress(
                "[progress.description]{task.description}",
                BarColumn(),
                DownloadColumn(),
                TimeRemainingColumn(),
                console=err,
                transient=True,
            )
        self._tasks: dict[int, TaskID] = {}

    def __enter__(self) -> _ProgressBars:
        if self._bars is not None:
            self._bars.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bars is not None:
            self._bars.stop()

    def of(self, n: int) -> Callable[[int, int], None] | None:
        """The progress callback for the ``n``-th file; None when it is too small to show one."""
        bars, size = self._bars, self._sizes[n]
        if bars is None or size < PROGRESS_MIN_BYTES:
            return None
        task = self._tasks[n] = bars.add_task(f"ingesting {self._paths[n].name}", total=size)
        return lambda done, total: bars.update(task, completed=done, total=total)

    def done(self, n: int) -> None:
        """Take the bar of the ``n``-th file away: its summary is printed next."""
        if self._bars is not None and n in self._tasks:
            self._bars.remove_task(self._tasks.pop(n))


@app.command()
def demo(
    store: StoreOption = None,
    seed: Annotated[int, typer.Option(help="Seed of the synthetic data.")] = 2026,
    end: Annotated[
        str | None,
        typer.Option(
            help="Last day of the synthetic data (YYYY-MM-DD); default: the end of last month.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Generate synthetic Southampton demo data and load it, with the public police.uk file."""
    from ingest.pipeline import IngestJob, ingest_files
    from store import open_store
    from streetsafe.demo import generate_demo
    from streetsafe.deployment import seal_context
    from streetsafe.releases import ReleaseRules, make_releases
    from streetsafe.resources import data_dir, data_file
    from streetsafe.services import load_services

    with _failures():
        settings = _settings(store)
        ctx = seal_context(settings)
        last = _parse_day(end) if end else date.today().replace(day=1) - timedelta(days=1)
        files = generate_demo(seed=seed, end=last)
        jobs = [
            IngestJob(kind, io.BytesIO(getattr(files, kind)), f"synthetic-{kind}.csv", True)
            for kind in ("incidents", "outreach", "asb")
        ]
        jobs += [
            IngestJob("policeuk", str(path)) for path in sorted(data_dir("policeuk").glob("*.csv"))
        ]
        with (
            open_store(settings.store, storage_res=settings.storage_res) as st,
            closing(ingest_files(st, jobs, ctx=ctx)) as results,
        ):
            for job, result in zip(jobs, results, strict=True):
                if isinstance(result, StreetsafeError):
                    raise result  # the demo's own files: any fault is a failure
                if job.synthetic:
                    out.print(
                        f"synthetic {job.kind}: {result.accepted:,} added, "
                        f"{result.duplicates:,} already there, {result.rejected:,} rejected"
                    )
                else:
                    out.print(
                        f"police.uk {result.source}: {result.accepted:,} added, "
                        f"{result.duplicates:,} already there"
                    )
            services = load_services(st, data_file("services_demo.csv"), ctx.study_area)
            out.print(f"demo services: {services.accepted} (made up), open hours for the route")
            made = make_releases(st, ReleaseRules.of(settings, date.today()))
        if made:
            out.print(
                f"released for partner roles: {made[0][0]:%Y-%m} to {made[-1][0]:%Y-%m} "
                f"({len(made)} months)"
            )
        out.print(f"demo store ready: {settings.store} (synthetic data, labelled as such)")


def _parse_day(text: str, *, param: str = "--end") -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not a date (YYYY-MM-DD)", param_hint=param) from None


@app.command()
def dashboard(
    store: StoreOption = None,
    port: Annotated[int, typer.Option(help="Port to serve on.")] = 8501,
    address: Annotated[
        str,
        typer.Option(
            help="Address to listen on; the default serves this machine only. Another needs "
            "sign-in configured (an identity provider or local accounts)."
        ),
    ] = "127.0.0.1",
    demo_mode: Annotated[
        bool,
        typer.Option(
            "--demo",
            help="Demo mode whatever the store holds: a role chooser, no sign-in (this machine "
            "only). On a store of demo data alone it is the default when no sign-in is set up.",
        ),
    ] = False,
    headless: Annotated[
        bool | None,
        typer.Option(
            "--headless/--browser",
            help="Do not / do open a browser (default: headless when there is no display).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Start the dashboard (Streamlit)."""
    with _failures():
        settings = _settings(store)
        _check_deployment(settings)
        signs_in = _sign_in_configured(settings)
    if not _loopback(address) and (demo_mode or not signs_in):
        err.print(
            f"[bold red]error:[/] refusing to listen on {address} "
            + (
                "in demo mode (no sign-in): demo mode serves this machine only"
                if demo_mode
                else "without sign-in: configure an identity provider (STREETSAFE_SECRETS, "
                "STREETSAFE_ACCESS) or local accounts (streetsafe users add), or serve "
                "127.0.0.1 only"
            ),
            highlight=False,
            soft_wrap=True,
        )
        raise typer.Exit(2)
    if headless is None:
        headless = not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    app_path = Path(str(resources.files("dashboard") / "app.py"))
    env = {**os.environ, "STREETSAFE_STORE": settings.store, "STREETSAFE_DEMO": "0"}
    if demo_mode:
        env["STREETSAFE_DEMO"] = "1"
    cmd = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(app_path),
        "--server.port",
        str(port),
        "--server.headless",
        "true" if headless else "false",
        "--server.address",
        address,
        "--browser.gatherUsageStats",
        "false",
        # no "Deploy" button or developer menu for users
        "--client.toolbarMode",
        "viewer",
        # one look for every browser: a dark-mode browser gets the light theme, readable, and
        # the low-light switch gives the dark one (dashboard/theme.py)
        "--theme.base",
        "light",
        # the accent (slider values, chips, primary buttons): 6.6:1 on white, where Streamlit's
        # own red is 3.3:1, under WCAG's 4.5:1
        "--theme.primaryColor",
        "#b3261e",
        # Streamlit runs a full garbage collection after every rerun: with a town's counts in
        # memory that was a third of the server's time under load (bench.load_bench); Python's
        # own collector still runs as usual
        "--runner.postScriptGC",
        "false",
        # the code does not change under a running server: no polling of its files
        "--server.fileWatcherType",
        "none",
        # an error is one line for the person at the screen; its details go to the server log
        "--client.showErrorDetails",
        "none",
    ]
    if settings.secrets is not None:
        cmd += ["--secrets.files", str(settings.secrets)]
    out.print(f"streetsafe dashboard on http://{address}:{port} (store: {settings.store})")
    sys.stdout.flush()
    # Become the server (no child left behind when this process is stopped or killed).
    os.execve(sys.executable, cmd, env)


def _loopback(address: str) -> bool:
    import ipaddress

    if address == "localhost":
        return True
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def _sign_in_configured(settings: Any) -> bool:
    """Whether people sign in: an identity provider in the secrets, or local accounts."""
    from store import open_store
    from streetsafe.deployment import identity_provider_configured

    if identity_provider_configured(settings):
        return True
    with open_store(settings.store, storage_res=settings.storage_res) as st:
        return st.has_users()


def _check_deployment(settings: Any) -> None:
    """Read the deployment's files now: a bad one is one message here, not a page of traceback."""
    from ingest.agencies import Agencies
    from streetsafe.boundaries import load_areas
    from streetsafe.deployment import load_access, load_study_area
    from streetsafe.policies import load_policies

    load_study_area(settings.study_area)
    load_areas(settings.wards)
    policies = load_policies(settings.policy)
    Agencies.load(settings.agencies)
    load_access(settings, policies)


class ExportFormat(StrEnum):
    """File formats of ``map``."""

    geojson = "geojson"
    csv = "csv"


@app.command()
def release(
    through: Annotated[
        str | None,
        typer.Option(
            help="Release closed months up to this one (YYYY-MM) (default: every closed month).",
            show_default=False,
        ),
    ] = None,
    store: StoreOption = None,
) -> None:
    """Release every closed month not yet released, for partner roles (run monthly, e.g. from
    cron). A month closes STREETSAFE_RELEASE_AFTER_DAYS after it ends; once released it is
    never made again, whatever arrives later."""
    from store import open_store
    from streetsafe.releases import ReleaseRules, first_release_month, make_releases

    last = _parse_month(through) if through else None
    with _failures():
        settings = _settings(store)
        rules = ReleaseRules.of(settings, date.today())
        with open_store(settings.store, storage_res=settings.storage_res) as st:
            first, from_records = first_release_month(st, rules.start)
            made = make_releases(st, rules, through=last)
            released = sorted(st.release_ids())
    if made and from_records and first is not None:
        err.print(
            f"[yellow]note:[/] releases start at {first:%Y-%m}, the month of the earliest "
            "record, which partners can see; set STREETSAFE_RELEASE_FROM (YYYY-MM) to a month "
            "of your choosing before the first release",
            highlight=False,
            soft_wrap=True,
        )
    for month, rid, rows in made:
        out.print(f"released {month:%Y-%m}: {rid} ({rows:,} groups)")
    if not made:
        out.print("nothing to release: every closed month is released")
    if released:
        out.print(f"partner roles see {released[0]:%Y-%m} to {released[-1]:%Y-%m}")


def _parse_month(text: str) -> date:
    try:
        return date.fromisoformat(f"{text}-01")
    except ValueError:
        raise typer.BadParameter(
            f"{text!r} is not a month (YYYY-MM)", param_hint="--through"
        ) from None


@app.command("map")
def map_export(
    role: RoleOption,
    fmt: Annotated[ExportFormat, typer.Option("--format", help="geojson (hexagons) or csv.")],
    res: ResOption = None,
    hours: HoursOption = None,
    weekdays: WeekdaysOption = None,
    date_from: FromOption = None,
    date_to: ToOption = None,
    layers: Annotated[
        str | None,
        typer.Option(
            help="Comma-separated layers (default: all the role may see).", show_default=False
        ),
    ] = None,
    categories: CategoriesOption = None,
    out_path: OutOption = None,
    store: StoreOption = None,
) -> None:
    """Export exactly the published view the dashboard shows for these filters."""
    from geo.errors import FilterError, PolicyError
    from geo.export import view_geojson, view_table
    from store import open_store
    from streetsafe.filters import ReleaseRequest, parse_request
    from streetsafe.places import place_index
    from streetsafe.policies import load_policies
    from streetsafe.views import published_view, release_view

    with _failures():
        settings = _settings(store)
        policies = load_policies(settings.policy)
        try:
            request = parse_request(
                policies,
                role=role,
                res=res,
                layers=layers,
                hours=hours,
                weekdays=weekdays,
                date_from=date_from,
                date_to=date_to,
                categories=categories,
            )
        except (FilterError, PolicyError) as exc:
            _usage_error(exc)
        _check_store_exists(settings.store)
        with open_store(settings.store, storage_res=settings.storage_res) as st:
            if isinstance(request, ReleaseRequest):
                view = release_view(st, policies[role], request)
            else:
                view = published_view(st, policies[role], request.cube_filter(), res=request.res)
            places = place_index(st)
    if fmt is ExportFormat.geojson:
        text = json.dumps(view_geojson(view, places=places)) + "\n"
    else:
        text = spreadsheet_csv(view_table(view, places=places))
    write_out(text, out_path)
    for note in view.notes:
        err.print(f"note: {note}", highlight=False, soft_wrap=True)


@app.command("hotspots")
def hotspots_export(
    role: RoleOption,
    fmt: Annotated[ExportFormat, typer.Option("--format", help="geojson (hexagons) or csv.")],
    layer: Annotated[
        str | None,
        typer.Option(help="The layer (default: the role's first map layer).", show_default=False),
    ] = None,
    res: ResOption = None,
    hours: HoursOption = None,
    weekdays: WeekdaysOption = None,
    date_from: FromOption = None,
    date_to: ToOption = None,
    categories: CategoriesOption = None,
    rings: Annotated[
        int | None,
        typer.Option(
            help="Neighbours: rings of hexagons (env: STREETSAFE_HOTSPOT_RINGS, 1).",
            show_default=False,
        ),
    ] = None,
    permutations: Annotated[
        int | None,
        typer.Option(
            help="Permutations per p-value, 999 or more (env: STREETSAFE_HOTSPOT_PERMUTATIONS).",
            show_default=False,
        ),
    ] = None,
    seed: Annotated[int | None, typer.Option(help="Seed of the permutations.")] = None,
    p_values: Annotated[
        str, typer.Option("--p-values", help="Bins from permutation or normal p-values.")
    ] = "permutation",
    out_path: OutOption = None,
    store: StoreOption = None,
) -> None:
    """Export a layer's hotspots (Gi* bins at 90/95/99 %, emerging hot and cold spots, newly
    active hexagons) from what the role is published, nothing finer."""
    from geo.errors import FilterError, PolicyError
    from geo.export import cells_geojson
    from store import open_store
    from streetsafe.deployment import load_study_area
    from streetsafe.filters import parse_request
    from streetsafe.hotspots import HotspotParams, hotspot_report, report_table
    from streetsafe.places import place_index
    from streetsafe.policies import load_policies

    with _failures():
        settings = _settings(store)
        policies = load_policies(settings.policy)
        try:
            request = parse_request(
                policies,
                role=role,
                res=res,
                layers=layer,
                hours=hours,
                weekdays=weekdays,
                date_from=date_from,
                date_to=date_to,
                categories=categories,
            )
            policy = policies[role]
            chosen = request.layers[0] if layer else (policy.default_layers or policy.layers)[0]
            request = replace(request, layers=(chosen,))
            params = HotspotParams.of(
                settings, rings=rings, permutations=permutations, seed=seed, p_method=p_values
            )
            _check_params(params)
        except (FilterError, PolicyError) as exc:
            _usage_error(exc)
        area = load_study_area(settings.study_area)
        _check_store_exists(settings.store)
        with open_store(settings.store, storage_res=settings.storage_res) as st:
            try:  # a period with no data or no release is the asker's to change
                report = hotspot_report(st, policy, request, area, layer=chosen, params=params)
            except FilterError as exc:
                _usage_error(exc)
            places = place_index(st)
    table = report_table(report, places=places)
    if fmt is ExportFormat.geojson:
        properties = {
            "role": report.role,
            "layer": report.layer,
            "period": report.period,
            "release": report.release,
            "trend_months": [f"{m:%Y-%m}" for m in report.trend],
            "notes": report.notes,
        }
        text = json.dumps(cells_geojson(report.cells["cell"].tolist(), table, properties)) + "\n"
    else:
        text = spreadsheet_csv(table)
    write_out(text, out_path)
    for note in report.notes:
        err.print(f"note: {note}", highlight=False, soft_wrap=True)


def _check_store_exists(url: str) -> None:
    """Refuse, for a command that only reads, an embedded store that is not there (opening it
    would make an empty one, and the answer would be "no data" instead of the typo)."""
    from geo.errors import ConfigError

    if url.startswith(("postgresql://", "postgres://")):
        return
    path = Path(url.removeprefix("duckdb://"))
    if not path.exists():
        raise ConfigError(
            f"there is no store at {path}: check --store (or STREETSAFE_STORE), or load data "
            "first with streetsafe demo or streetsafe ingest"
        )


def _check_params(params: Any) -> None:
    from geo.errors import FilterError
    from geo.hotspots import MAX_PERMUTATIONS, MIN_PERMUTATIONS, P_METHODS

    if params.rings < 1 or params.rings > 3:
        raise FilterError(f"--rings is 1 to 3, got {params.rings}")
    if params.permutations < MIN_PERMUTATIONS:
        raise FilterError(
            f"--permutations must be at least {MIN_PERMUTATIONS}, got {params.permutations}: "
            "a pseudo p-value cannot go below 2/(permutations + 1)"
        )
    if params.permutations > MAX_PERMUTATIONS:
        raise FilterError(
            f"--permutations is at most {MAX_PERMUTATIONS:,}, got {params.permutations:,}"
        )
    if params.seed < 0:
        raise FilterError(f"--seed is a whole number, 0 or more; got {params.seed}")
    if params.p_method not in P_METHODS:
        raise FilterError(f"--p-values is one of {', '.join(P_METHODS)}, not {params.p_method!r}")


@app.command("forecast")
def forecast_export(
    night: Annotated[
        str | None,
        typer.Option(help="The night, named for its evening (YYYY-MM-DD).", show_default=False),
    ] = None,
    band: Annotated[
        str | None,
        typer.Option(
            help="Night bands: evening, late, small_hours (comma-separated) (default: all).",
            show_default=False,
        ),
    ] = None,
    layers: Annotated[
        str, typer.Option(help="What to forecast: outreach, incident or both.")
    ] = "outreach,incident",
    role: Annotated[str, typer.Option(help="Whose view (a role with case knowledge).")] = (
        "outreach"
    ),
    fmt: Annotated[str, typer.Option("--format", help="csv (the only format).")] = "csv",
    backtest: Annotated[
        bool,
        typer.Option(
            "--backtest",
            help="Instead: score the model against the seasonal-naive baseline over four "
            "rolling origins of 28 nights, and print the table.",
        ),
    ] = False,
    out_path: OutOption = None,
    store: StoreOption = None,
) -> None:
    """Export the chance of outreach contacts and incidents per hexagon and night band on a
    night, for an outreach lead (only where the role's own map shows the hexagon)."""
    from geo.errors import FilterError, PolicyError
    from store import open_store
    from streetsafe.deployment import load_study_area
    from streetsafe.forecast import (
        backtest_layer,
        check_forecast_role,
        forecast_table,
        forecast_view,
    )
    from streetsafe.policies import load_policies

    with _failures():
        settings = _settings(store)
        policies = load_policies(settings.policy)
        try:
            if fmt != "csv":
                raise FilterError(f"--format is csv, not {fmt!r}")
            policy = policies.get(role)
            if policy is None:
                raise PolicyError(f"unknown role {role!r}; roles are: {', '.join(policies)}")
            check_forecast_role(policy)
            if night is None and not backtest:
                raise FilterError("--night YYYY-MM-DD is needed: the night to forecast")
            day = _parse_day(night, param="--night") if night and not backtest else None
            bands = tuple(b.strip() for b in band.split(",") if b.strip()) if band else None
            chosen = tuple(x.strip() for x in layers.split(",") if x.strip())
            chosen = tuple("incident" if x == "incidents" else x for x in chosen)
            if not chosen:
                raise FilterError("--layers names no layer: outreach, incident or both")
            policy.check_layers(chosen)
        except (FilterError, PolicyError) as exc:
            _usage_error(exc)
        area = load_study_area(settings.study_area)
        _check_store_exists(settings.store)
        with open_store(settings.store, storage_res=settings.storage_res) as st:
            if day is None:
                for layer in chosen:
                    result = backtest_layer(st, policy, layer, area)
                    out.print(f"{layer}: {result.test_nights} nights from {result.origins[0]}")
                    out.print(result.table().to_string(index=False, float_format="%.3f"))
                return
            try:
                view = forecast_view(
                    st,
                    policy,
                    area,
                    night=day,
                    layers=chosen,
                    **({"bands": bands} if bands else {}),
                )
            except FilterError as exc:
                _usage_error(exc)
    write_out(spreadsheet_csv(forecast_table(view)), out_path)
    for note in view.notes:
        err.print(f"note: {note}", highlight=False, soft_wrap=True)


class RouteFormat(StrEnum):
    """The formats ``route`` writes."""

    csv = "csv"
    gpx = "gpx"
    html = "html"


@app.command("route")
def route_export(
    night: Annotated[
        str, typer.Option(help="The night, named for its evening (YYYY-MM-DD).", show_default=False)
    ],
    shift: Annotated[
        str, typer.Option(help="The shift, HH:MM-HH:MM; it may cross midnight.")
    ] = "20:00-02:00",
    teams: Annotated[int, typer.Option(help="How many teams go out.")] = 1,
    base: Annotated[
        str | None,
        typer.Option(
            help="Where the teams start and end: a service, a gazetteer place or LAT,LON "
            "(default: the first drop-in of the services file).",
            show_default=False,
        ),
    ] = None,
    mode: Annotated[str, typer.Option(help="How the teams travel: foot or van.")] = "foot",
    dwell: Annotated[int, typer.Option(help="Minutes at each stop.")] = 15,
    gap: Annotated[
        int, typer.Option(help="Least minutes before a place is visited again (0: no limit).")
    ] = 60,
    via: Annotated[
        list[str] | None,
        typer.Option(
            help="A service a team must call at while it is open (once per service: "
            "--via NAME --via NAME; names may hold commas).",
            show_default=False,
        ),
    ] = None,
    fmt: Annotated[
        RouteFormat,
        typer.Option("--format", help="csv (run sheet), gpx (GPX 1.1) or html (printable)."),
    ] = RouteFormat.csv,
    role: Annotated[str, typer.Option(help="Whose view (a role with case knowledge).")] = (
        "outreach"
    ),
    seconds: Annotated[
        int | None,
        typer.Option(
            help="Seconds the solver searches (default: STREETSAFE_ROUTE_SECONDS).",
            show_default=False,
        ),
    ] = None,
    out_path: OutOption = None,
    store: StoreOption = None,
) -> None:
    """Plan tonight's outreach route: stops from the gated forecast, services open, a run
    sheet per team (compared with a greedy baseline)."""
    from geo.errors import FilterError, PolicyError
    from store import open_store
    from streetsafe.deployment import load_study_area
    from streetsafe.places import place_index
    from streetsafe.policies import load_policies
    from streetsafe.route import MODES, RouteRequest, night_route
    from streetsafe.runsheet import route_csv, route_gpx, route_html

    with _failures():
        settings = _settings(store)
        policies = load_policies(settings.policy)
        try:
            policy = policies.get(role)
            if policy is None:
                raise PolicyError(f"unknown role {role!r}; roles are: {', '.join(policies)}")
            if teams < 1:
                raise FilterError(f"--teams is 1 or more, got {teams}")
            if mode not in MODES:
                raise FilterError(f"--mode is foot or van, not {mode!r}")
            if seconds is not None and not 1 <= seconds <= 600:
                raise FilterError(f"--seconds is 1 to 600, got {seconds}")
            request = RouteRequest(
                night=_parse_day(night, param="--night"),
                shift=shift,
                teams=teams,
                base=base,
                mode=mode,
                dwell=dwell,
                gap=gap,
                via=tuple(v.strip() for v in via or () if v.strip()),
            )
        except (FilterError, PolicyError) as exc:
            _usage_error(exc)
        area = load_study_area(settings.study_area)
        _check_store_exists(settings.store)
        from ingest.gazetteer import Gazetteer

        gazetteer = Gazetteer.load(settings.gazetteer)
        with open_store(settings.store, storage_res=settings.storage_res) as st:
            try:
                route = night_route(
                    st,
                    policy,
                    area,
                    settings,
                    request,
                    gazetteer=gazetteer,
                    names=place_index(st),
                    seconds=seconds,
                )
            except FilterError as exc:
                _usage_error(exc)
    writers = {"csv": route_csv, "gpx": route_gpx, "html": route_html}
    write_out(writers[fmt.value](route), out_path)
    p = route.plan
    err.print(
        f"planned: {p.visits} stops for {request.teams} team(s), value {p.value:.2f} "
        f"(greedy baseline {p.baseline:.2f}); {len(p.left_out)} candidate stops left out",
        highlight=False,
        soft_wrap=True,
    )
    for note in route.notes:
        kind = "warning" if note in route.missed_calls else "note"
        err.print(f"{kind}: {note}", highlight=False, soft_wrap=True, markup=False)


def _usage_error(exc: StreetsafeError) -> NoReturn:
    """Print a usage error's message and exit with status 2."""
    print_error(err, user_message(exc))
    raise typer.Exit(2) from None


app.command("area")(area)  # streetsafe/area_command.py

users_app = typer.Typer(help="Local accounts, for teams without an identity provider.")
app.add_typer(users_app, name="users")


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = typer.prompt("Password", hide_input=True)
    if typer.prompt("Again", hide_input=True) != first:
        raise typer.BadParameter("the two passwords differ", param_hint="password")
    return str(first)


PasswordStdin = Annotated[
    bool,
    typer.Option(
        "--password-stdin", help="Read the password from the first line of standard input."
    ),
]


@users_app.command("add")
def users_add(
    email: Annotated[str, typer.Argument(help="The person's email (their sign-in name).")],
    role: Annotated[str, typer.Option(help="Their role (see data/policies.toml), or admin.")],
    agency: Annotated[
        str, typer.Option(help="The agency they work for (in the agencies file).")
    ] = "",
    password_stdin: PasswordStdin = False,
    store: StoreOption = None,
) -> None:
    """Create a local account (the password is kept only as its argon2id hash)."""
    from ingest.agencies import Agencies
    from store import open_store
    from streetsafe.accounts import add_user
    from streetsafe.policies import load_policies

    with _failures():
        settings = _settings(store)
        policies = load_policies(settings.policy)
        agencies = Agencies.load(settings.agencies)
        password = _password(password_stdin)
        with open_store(settings.store, storage_res=settings.storage_res) as st:
            user = add_user(
                st,
                email,
                role=role,
                agency=agency,
                password=password,
                roles=list(policies),
                agency_of=agencies.canonical,
            )
    out.print(f"account {user.email} added: {user.role}, {user.agency or 'no agency'}")


@users_app.command("list")
def users_list(store: StoreOption = None) -> None:
    """List the local accounts (never their passwords)."""
    from store import open_store

    with _failures():
        settings = _settings(store)
        with open_store(settings.store, storage_res=settings.storage_res) as st:
            users = st.users()
    table = Table("email", "role", "agency", "state", "changed (UTC)")
    for user in users:
        state = "disabled" if user.disabled else f"{user.failed} failed" if user.failed else "on"
        changed = f"{user.changed_at:%Y-%m-%d %H:%M}" if user.changed_at else ""
        table.add_row(user.email, user.role, user.agency, state, changed)
    out.print(table if users else "no local accounts")


@users_app.command("disable")
def users_disable(
    email: Annotated[str, typer.Argument(help="The account's email.")],
    store: StoreOption = None,
) -> None:
    """Turn an account off (it is kept, for the audit trail)."""
    from store import open_store
    from streetsafe.accounts import disable_user

    with _failures():
        settings = _settings(store)
        with open_store(settings.store, storage_res=settings.storage_res) as st:
            disable_user(st, email)
    out.print(f"account {email} disabled")


@users_app.command("password")
def users_password(
    email: Annotated[str, typer.Argument(help="The account's email.")],
    password_stdin: PasswordStdin = False,
    store: StoreOption = None,
) -> None:
    """Give an account a new password (and lift a pause after failed sign-ins)."""
    from store import open_store
    from streetsafe.accounts import set_password

    with _failures():
        settings = _settings(store)
        password = _password(password_stdin)
        with open_store(settings.store, storage_res=settings.storage_res) as st:
            set_password(st, email, password)
    out.print(f"account {email}: password changed")


class AuditFormat(StrEnum):
    """File formats of ``audit``."""

    csv = "csv"
    json = "json"


audit_app = typer.Typer(
    help="The audit trail: sign-ins, refusals, views, exports, uploads, changes.",
    invoke_without_command=True,
)
app.add_typer(audit_app, name="audit")


@audit_app.callback()
def audit_export(
    ctx: typer.Context,
    since: Annotated[
        str | None,
        typer.Option(help="Entries from this day (YYYY-MM-DD, UTC).", show_default=False),
    ] = None,
    user: Annotated[
        str | None, typer.Option(help="One person's entries (email).", show_default=False)
    ] = None,
    fmt: Annotated[AuditFormat, typer.Option("--format", help="Output format.")] = (
        AuditFormat.csv
    ),
    store: StoreOption = None,
) -> None:
    """Print the audit trail (CSV, or JSON lines); `audit verify` checks its chain."""
    from datetime import datetime

    from store import open_store
    from streetsafe import audit
    from streetsafe.access import fold_email

    if ctx.invoked_subcommand is not None:
        ctx.obj = store
        return
    with _failures():
        day = _parse_day(since, param="--since") if since else None
        settings = _settings(store)
        with open_store(settings.store, storage_res=settings.storage_res) as st:
            text = audit.export(
                st,
                since=datetime.combine(day, datetime.min.time()) if day else None,
                actor=fold_email(user) if user else None,
                fmt=fmt.value,
            )
    sys.stdout.write(text)


@audit_app.command("verify")
def audit_verify(
    ctx: typer.Context,
    head: Annotated[
        str | None,
        typer.Option(
            help="A hash an earlier check printed: also finds the newest entries deleted.",
            show_default=False,
        ),
    ] = None,
    store: StoreOption = None,
) -> None:
    """Check that no audit entry was edited or deleted (exit status 1 if one was)."""
    from store import open_store
    from streetsafe import audit

    with _failures():
        settings = _settings(store or ctx.obj)
        with open_store(settings.store, storage_res=settings.storage_res) as st:
            found = audit.verify(st, head=head)
    if not found.ok:
        for problem in found.problems:
            err.print(f"[bold red]audit trail changed:[/] {problem}", highlight=False)
        raise typer.Exit(1)
    out.print(
        f"audit trail whole: {found.entries:,} entries; the newest has hash {found.head} "
        "(note it away from the store: `audit verify --head` then finds deleted newest entries)",
        highlight=False,
        soft_wrap=True,
    )


def main() -> None:
    """Entry point of the ``streetsafe`` console script.

    Everything it (and the dashboard it starts) writes is readable by its owner alone: stores,
    logs, rejects files hold what this product exists to protect.
    """
    os.umask(0o077)
    app()


if __name__ == "__main__":
    main()
