"""The command line as scripts and people use it: exit status, JSON summary, messages."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pytest
from typer.testing import CliRunner

from store import open_store
from streetsafe.cli import app
from streetsafe.resources import data_dir, data_file
from tests.conftest import (
    POLICEUK_HAMPSHIRE,
    POLICEUK_HAMPSHIRE_ROWS,
    POLICEUK_HAMPSHIRE_SOUTHAMPTON,
    ROOT,
    TEST_KEY,
)

runner = CliRunner()


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {"STREETSAFE_STORE": str(tmp_path / "s.duckdb"), "STREETSAFE_PSEUDONYM_KEY": TEST_KEY}


def test_ingest_json_summary_for_scripts(env: dict[str, str]) -> None:
    result = runner.invoke(app, ["ingest", "policeuk", str(POLICEUK_HAMPSHIRE), "--json"], env=env)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert {
        "accepted",
        "rejected",
        "duplicates",
        "outside_area",
        "rejected_by_reason",
        "dropped_columns",
    } <= set(summary)
    assert abs(summary["accepted"] - POLICEUK_HAMPSHIRE_SOUTHAMPTON) <= 3
    assert summary["rejected"] == 0
    assert summary["outside_area"] == POLICEUK_HAMPSHIRE_ROWS - summary["accepted"]
    again = json.loads(
        runner.invoke(
            app, ["ingest", "policeuk", str(POLICEUK_HAMPSHIRE), "--json"], env=env
        ).stdout
    )
    assert again["accepted"] == 0


def test_rejected_rows_still_exit_zero_and_are_saved(env: dict[str, str], tmp_path: Path) -> None:
    bad = tmp_path / "asb.csv"
    bad.write_text(
        "occurred_at,place,category,agency\n2025-03-14 22:10,Six Dials,noyse,Resident\n"
        "2025-03-14 22:20,Six Dials,noise,Resident\n"
    )
    rejects = tmp_path / "out" / "asb.rejects.csv"
    result = runner.invoke(app, ["ingest", "asb", str(bad), "--rejects", str(rejects)], env=env)
    assert result.exit_code == 0, result.output
    assert "accepted" in result.stdout
    assert "did you mean 'noise'" in rejects.read_text()


def test_unreadable_file_exits_one_with_a_message_not_a_traceback(
    env: dict[str, str], tmp_path: Path
) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    result = runner.invoke(app, ["ingest", "incidents", str(empty)], env=env)
    assert result.exit_code == 1
    assert "the file is empty" in result.stderr
    assert "Traceback" not in result.output + result.stderr
    missing = runner.invoke(app, ["ingest", "incidents", str(tmp_path / "nope.csv")], env=env)
    assert missing.exit_code == 1
    assert "cannot open the file" in missing.stderr


def test_usage_errors_exit_two(env: dict[str, str]) -> None:
    assert runner.invoke(app, ["ingest", "crimes", "x.csv"], env=env).exit_code == 2
    assert runner.invoke(app, ["ingest"], env=env).exit_code == 2


def test_demo_loads_synthetic_and_police_data_once(env: dict[str, str]) -> None:
    first = runner.invoke(app, ["demo", "--end", "2026-10-31"], env=env)
    assert first.exit_code == 0, first.output
    con = duckdb.connect(env["STREETSAFE_STORE"], read_only=True)
    counts = dict(con.execute("SELECT layer, count(*) FROM records GROUP BY 1").fetchall())
    synthetic = con.execute("SELECT count(*) FROM batches WHERE synthetic").fetchone()
    con.close()
    assert set(counts) == {"incident", "outreach", "asb", "policeuk"}
    assert counts["policeuk"] == 3095
    assert synthetic == (3,)
    again = runner.invoke(app, ["demo", "--end", "2026-10-31"], env=env)
    assert again.exit_code == 0
    assert "0 added" in again.stdout


def test_the_operator_releases_closed_months_once(env: dict[str, str], tmp_path: Path) -> None:
    incidents = tmp_path / "incidents.csv"
    incidents.write_text(
        "occurred_at,latitude,longitude,category,severity,agency,person_ref,sharing\n"
        "2026-08-04 23:10,50.9112,-1.3931,violence,high,Outreach team,AB-17,partners\n"
    )
    assert runner.invoke(app, ["ingest", "incidents", str(incidents)], env=env).exit_code == 0
    before = runner.invoke(app, ["map", "--role", "police_npt", "--format", "csv"], env=env)
    assert "no month is released yet" in before.stderr  # views never make releases
    first = runner.invoke(app, ["release", "--through", "2026-09"], env=env)
    assert first.exit_code == 0, first.output
    assert "released 2026-08: 2026-08/partners/r8/v1" in first.stdout
    assert "released 2026-09: 2026-09/partners/r8/v1" in first.stdout  # a month with no records
    assert "2026-10" not in first.stdout
    # no public data and no STREETSAFE_RELEASE_FROM: the start follows the records, and it says so
    assert "releases start at 2026-08" in first.stderr
    assert "STREETSAFE_RELEASE_FROM" in first.stderr
    again = runner.invoke(app, ["release", "--through", "2026-09"], env=env)
    assert "nothing to release" in again.stdout
    assert "partner roles see 2026-08 to 2026-09" in again.stdout
    bad = runner.invoke(app, ["release", "--through", "2026-9-1"], env=env)
    assert bad.exit_code == 2
    assert "not a month (YYYY-MM)" in bad.output


def test_a_partners_file_is_ingested_as_the_partners(env: dict[str, str], tmp_path: Path) -> None:
    asb = tmp_path / "asb.csv"
    asb.write_text(
        "occurred_at,latitude,longitude,category,agency,sharing\n"
        "2026-08-04 23:10,50.9112,-1.3931,noise,Community safety,partners\n"
    )
    args = ["ingest", "asb", str(asb), "--from", "asb team"]  # another spelling of it
    assert runner.invoke(app, args, env=env).exit_code == 0
    con = duckdb.connect(env["STREETSAFE_STORE"], read_only=True)
    batches = con.execute("SELECT uploaded_by, trusted FROM batches").fetchall()
    con.close()
    assert batches == [("Community safety", False)]
    wrong = runner.invoke(app, ["ingest", "asb", str(asb), "--from", "Comunity safety"], env=env)
    assert wrong.exit_code == 2
    assert "'Comunity safety' is not an agency" in wrong.output
    assert "did you mean 'Community safety'" in wrong.output


def test_a_killed_ingest_leaves_the_store_and_rejects_as_they_were(
    env: dict[str, str], tmp_path: Path
) -> None:
    big = tmp_path / "big.csv"
    row = "2025-03-14 22:10,50.9112,-1.3931,noise,Resident\n"
    with big.open("w") as fh:
        fh.write("occurred_at,latitude,longitude,category,agency\n")
        for i in range(400_000):
            fh.write(
                row.replace("22:10", f"{22 - i % 3}:{i % 60:02d}")
                if i % 1000
                else "bad,row,here,x,y\n"
            )
    rejects = tmp_path / "rejects.csv"
    cmd = [
        sys.executable,
        "-m",
        "streetsafe.cli",
        "ingest",
        "asb",
        str(big),
        "--rejects",
        str(rejects),
    ]
    proc = subprocess.Popen(
        cmd, env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    # Kill it once it is inside the transaction (the store file exists), before it commits.
    deadline = time.monotonic() + 60
    while not Path(env["STREETSAFE_STORE"]).exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.5)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    con = duckdb.connect(env["STREETSAFE_STORE"])
    assert con.execute("SELECT count(*) FROM records").fetchone() == (0,)
    con.close()
    assert not rejects.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".rejects")]


def test_templates_are_documented_column_by_column() -> None:
    readme = (ROOT / "README.md").read_text()
    for template in data_dir("templates").glob("*.csv"):
        for column in template.read_text().splitlines()[0].split(","):
            assert f"`{column}`" in readme, (template.name, column)


def test_map_exports_the_published_view(env: dict[str, str], tmp_path: Path) -> None:
    assert runner.invoke(app, ["demo", "--end", "2026-10-31"], env=env).exit_code == 0
    out = tmp_path / "out" / "police.csv"
    months = ["--from", "2026-08", "--to", "2026-10"]
    args = ["map", "--role", "police_npt", "--format", "csv", *months, "--out", str(out)]
    result = runner.invoke(app, args, env=env)
    assert result.exit_code == 0, result.output
    table = out.read_text().splitlines()
    # a partner's export keeps its columns, names the releases it sums, and each hexagon's
    # streets (from police.uk's public file the demo loads)
    assert table[0] == "cell,resolution,layer,value,protection,release,near"
    assert len(table) > 1
    near = pd.read_csv(out, keep_default_na=False)["near"]
    assert (near != "").mean() > 0.9
    assert not near.str.startswith("near ").any()
    assert not any(",outreach," in line for line in table)
    assert all("2026-08/partners/r8/v1" in line for line in table[1:])
    assert "released figures for the whole months 2026-08 to 2026-10" in result.stderr
    live = tmp_path / "out" / "outreach.csv"
    args = ["map", "--role", "outreach", "--format", "csv", "--hours", "22-04", "--out", str(live)]
    assert runner.invoke(app, args, env=env).exit_code == 0
    assert live.read_text().splitlines()[0] == "cell,resolution,layer,value,protection,near"
    geojson = runner.invoke(
        app, ["map", "--role", "community_safety", "--format", "geojson"], env=env
    )
    doc = json.loads(geojson.stdout)
    assert doc["type"] == "FeatureCollection"
    values = [
        f["properties"]["value"]
        for f in doc["features"]
        if f["properties"]["protection"] != "public data"
    ]
    assert all(v % 5 == 0 and v >= 10 for v in values)
    assert doc["features"][0]["geometry"]["type"] == "Polygon"
    assert all("near" in f["properties"] for f in doc["features"])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--role", "mayor"], "unknown role"),
        (["--role", "police_npt", "--layers", "outreach"], "may not see the 'outreach' layer"),
        (["--role", "police_npt", "--res", "10"], "down to resolution 8, not 10"),
        (["--role", "outreach", "--hours", "22-4-6"], "not of the form"),
        (["--role", "outreach", "--categories", "robery"], "unknown category"),
        (["--role", "police_npt", "--hours", "22-04"], "sees monthly releases, not hours"),
        (["--role", "police_npt", "--weekdays", "fri"], "not nights of the week: ask whole"),
        (["--role", "police_npt", "--from", "2026-08-03"], "whole months, written YYYY-MM"),
        (["--role", "police_npt", "--categories", "kerb_crawling"], "--categories buyers"),
        (["--role", "police_npt", "--categories", "parking"], "unknown category group"),
    ],
    ids=[
        "role",
        "layer",
        "resolution",
        "hours",
        "category",
        "partner-hours",
        "partner-nights",
        "partner-day",
        "partner-category",
        "partner-unknown-group",
    ],
)
def test_map_refuses_bad_requests_with_exit_two(
    env: dict[str, str], args: list[str], message: str
) -> None:
    result = runner.invoke(app, ["map", "--format", "csv", *args], env=env)
    assert result.exit_code == 2
    assert message in result.stderr


def test_the_dashboard_refuses_to_start_on_a_bad_wards_file(
    env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wards = tmp_path / "wards.geojson"
    wards.write_text('{"type": "FeatureCollection", "features": [{"properties": {"id": 1}}]}')

    def execve(*args: object) -> None:
        raise AssertionError("the dashboard started")

    monkeypatch.setattr(os, "execve", execve)
    result = runner.invoke(app, ["dashboard"], env={**env, "STREETSAFE_WARDS": str(wards)})
    assert result.exit_code == 1
    assert "must give each area a code and a name" in result.stderr
    assert "Traceback" not in result.output


def test_local_accounts_from_the_command_line(env: dict[str, str]) -> None:
    add = [
        "users",
        "add",
        "Pat@Outreach.example.org",
        "--role",
        "outreach",
        "--agency",
        "outreach van",
    ]
    short = runner.invoke(app, [*add, "--password-stdin"], input="short\n", env=env)
    assert short.exit_code == 1
    assert "at least 12 characters" in short.output
    unknown = ["users", "add", "x@y.org", "--role", "outreach", "--agency", "Ghost team"]
    bad = runner.invoke(app, [*unknown, "--password-stdin"], input="long enough pass\n", env=env)
    assert bad.exit_code == 1
    assert "'Ghost team' is not in the agencies file" in bad.output
    added = runner.invoke(app, [*add, "--password-stdin"], input="a long night shift 42\n", env=env)
    assert added.exit_code == 0, added.output
    assert "pat@outreach.example.org added: outreach, Night van" in added.stdout
    listed = runner.invoke(app, ["users", "list"], env=env)
    assert "pat@outreach.example.org" in listed.stdout
    assert "argon2" not in listed.stdout
    off = runner.invoke(app, ["users", "disable", "pat@outreach.example.org"], env=env)
    assert off.exit_code == 0
    assert "disabled" in runner.invoke(app, ["users", "list"], env=env).stdout
    missing = runner.invoke(app, ["users", "disable", "nobody@x.org"], env=env)
    assert missing.exit_code == 1
    assert "no account for nobody@x.org" in missing.output


def test_the_audit_trail_exports_and_verifies(env: dict[str, str]) -> None:
    add = [
        "users",
        "add",
        "pat@outreach.example.org",
        "--role",
        "outreach",
        "--agency",
        "outreach van",
    ]
    runner.invoke(app, [*add, "--password-stdin"], input="a long night shift 42\n", env=env)
    runner.invoke(app, ["users", "disable", "pat@outreach.example.org"], env=env)
    lines = runner.invoke(app, ["audit", "--format", "json"], env=env).stdout.splitlines()
    events = [json.loads(line)["event"] for line in lines]
    assert events == ["user_created", "user_archived"]
    csv_text = runner.invoke(app, ["audit", "--since", "2000-01-01"], env=env).stdout
    assert csv_text.startswith("seq,logged_at_utc,event,actor,role,agency,detail,hash")
    assert runner.invoke(app, ["audit", "--user", "nobody@x.org"], env=env).stdout.count("\n") == 1
    ok = runner.invoke(app, ["audit", "verify"], env=env)
    assert ok.exit_code == 0
    assert "audit trail whole: 2 entries" in ok.stdout
    con = duckdb.connect(env["STREETSAFE_STORE"])
    con.execute("UPDATE audit SET actor = 'someone else' WHERE seq = 1")
    con.close()
    bad = runner.invoke(app, ["audit", "verify"], env=env)
    assert bad.exit_code == 1
    assert "entry 1: changed since it was written" in bad.output
    wrong = runner.invoke(app, ["audit", "--since", "yesterday"], env=env)
    assert wrong.exit_code == 2
    assert "not a date" in wrong.output


@pytest.mark.parametrize("extra", [[], ["--demo"]])
def test_the_dashboard_refuses_to_serve_the_network_without_sign_in(
    env: dict[str, str], extra: list[str]
) -> None:
    args = ["dashboard", "--address", "0.0.0.0", "--headless", *extra]
    refused = runner.invoke(app, args, env=env)
    assert refused.exit_code == 2
    assert "refusing to listen on 0.0.0.0" in refused.output


def test_a_rejects_file_opens_safely_in_a_spreadsheet_and_comes_back_as_sent(
    env: dict[str, str], tmp_path: Path
) -> None:
    """OWASP's CSV injection rule on the rejects file; the mended file, ingested again, reads
    each cell as first sent (the agency named in the reason is the hostile text itself)."""
    hostile = "=cmd|' /C calc'!A0"
    rows = [
        "record_id,occurred_at,latitude,longitude,place,category,severity,agency,person_ref,sharing",
        f'INC-1,2025-03-14 23:40,50.9112,-1.4044,,violence,high,"{hostile}",AB-17,partners',
        'INC-2,2025-03-14 23:45,50.9112,-1.4044,,violence,high,Outreach team,"@SUM(1+1)",partners',
        "INC-3,2025-03-14 23:50,50.9112,-1.4044,,violence,high,Outreach team,-2+3,partners",
        "INC-4,2025-03-14 23:55,50.9112,-1.4044,,violenc,high,Outreach team,CD-4,partners",
    ]
    source = tmp_path / "incidents.csv"
    source.write_text("\n".join(rows) + "\n")
    rejects = tmp_path / "rejects.csv"
    args = ["ingest", "incidents", str(source), "--rejects", str(rejects)]
    result = runner.invoke(app, args, env=env)
    assert result.exit_code == 0, result.output
    written = pd.read_csv(rejects, dtype=str, keep_default_na=False)
    assert list(written["agency"]) == [f"'{hostile}", "Outreach team"]
    assert list(written["longitude"]) == ["-1.4044", "-1.4044"]  # numbers stay numbers
    assert not any(
        cell[:1] and cell[:1] in "=+-@\t\r" and not cell[1:2].isdigit()
        for cell in written.to_numpy().ravel()
    )
    again = tmp_path / "again.csv"
    args = ["ingest", "incidents", str(rejects), "--rejects", str(again), "--json"]
    result = runner.invoke(app, args, env=env)
    assert result.exit_code == 0, result.output
    reread = pd.read_csv(again, dtype=str, keep_default_na=False)
    assert list(reread["agency"]) == [f"'{hostile}", "Outreach team"]  # not "''=cmd..."
    assert hostile in reread["reject_reasons"].iloc[0]


def test_a_rejects_file_that_cannot_be_written_is_a_message_after_the_data_is_stored(
    env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full_disk(rejects: object, path: Path) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("ingest.pipeline.write_rejects", full_disk)
    source = data_file("templates", "incidents.csv")
    rows = source.read_text().splitlines()
    rows[1] = rows[1].replace("EXAMPLE-INC-1", "INC-1")  # one good row; the others rejected
    good = tmp_path / "incidents.csv"
    good.write_text("\n".join(rows) + "\n")
    args = ["ingest", "incidents", str(good), "--rejects", str(tmp_path / "r.csv")]
    result = runner.invoke(app, args, env=env)
    assert result.exit_code == 3, result.output  # stored, but a report file is missing
    assert "Traceback" not in result.output
    assert "stored 1 records; could not write the rejects file" in result.output
    assert "no space left on device" in result.output
    with open_store(env["STREETSAFE_STORE"], storage_res=10) as store:
        assert store.data_version()[:2] == (1, 1)  # the file's record is in


def test_users_words_print_as_written_and_json_totals_are_whole(
    env: dict[str, str], tmp_path: Path
) -> None:
    header = "record_id,occurred_at,latitude,longitude,place,category,severity,agency,person_ref"
    marked = tmp_path / "[red]marked.csv"
    marked.write_text(
        f"{header}\nINC-1,2025-03-14 23:40,50.9112,-1.4044,,violence,high,[bold red]x[/],AB-1\n"
    )
    result = runner.invoke(app, ["ingest", "incidents", str(marked)], env=env)
    assert result.exit_code == 0, result.output
    flat = result.output.replace("\n", "")
    assert "[red]marked.csv" in flat  # Rich markup in a user's words, shown literally
    assert "'[bold red]x[/]'" in flat
    binary = tmp_path / "binary.csv"
    binary.write_bytes(b"\x00\x01\x02 not a csv")
    args = ["ingest", "incidents", str(marked), str(binary), "--json"]
    result = runner.invoke(app, args, env=env)
    assert result.exit_code == 1
    body = json.loads(result.stdout)
    assert {"dst_fold_flagged", "sharing_defaulted", "files", "errors"} <= set(body)
    assert body["rows"] == 1
    assert body["rejected"] == 1
    assert [e["file"] for e in body["errors"]] == [str(binary)]
    assert (body["files_stored"], body["files_failed"], len(body["files"])) == (1, 1, 1)
    assert "binary" in body["errors"][0]["error"]


def test_a_file_almost_all_outside_the_study_area_gets_a_hint(
    env: dict[str, str], tmp_path: Path
) -> None:
    """A deployment that forgot STREETSAFE_STUDY_AREA: a town's file, all outside the shipped
    Southampton boundary, is told why, not just counted."""
    header = "record_id,occurred_at,latitude,longitude,place,category,severity,agency,person_ref"
    rows = [  # Bournemouth town centre
        f"INC-{n},2025-03-14 23:{n:02d},50.7200,-1.8800,,violence,high,Outreach team,AB-{n}"
        for n in range(12)
    ]
    source = tmp_path / "bournemouth.csv"
    source.write_text("\n".join([header, *rows]) + "\n")
    result = runner.invoke(app, ["ingest", "incidents", str(source)], env=env)
    assert result.exit_code == 0, result.output
    flat = " ".join(result.output.split())
    assert "12 of 12 rows lie outside the study area in force (Southampton)" in flat
    assert "STREETSAFE_STUDY_AREA" in flat
    result = runner.invoke(app, ["ingest", "incidents", str(source), "--json"], env=env)
    assert "STREETSAFE_STUDY_AREA" in json.loads(result.stdout)["notes"][0]


def test_a_file_that_cannot_be_read_is_reported_in_its_turn_and_the_rest_go_in(
    env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Permission denied (the tests run as root, who may read anything: the refusal is made
    as the system would make it)."""
    import builtins

    locked = tmp_path / "locked.csv"
    locked.write_text("anything\n")
    real_open = builtins.open

    def guarded(file: Any, *args: Any, **kwargs: Any) -> Any:
        if str(file) == str(locked):
            raise PermissionError(errno.EACCES, "Permission denied", str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr("ingest.pipeline.open", guarded, raising=False)
    good = data_file("policeuk", "2022-02-southampton-street.csv")
    args = ["ingest", "policeuk", str(locked), str(good), "--json"]
    result = runner.invoke(app, args, env=env)
    assert result.exit_code == 1, result.output
    body = json.loads(result.stdout)
    assert body["accepted"] > 3000  # the next file went in
    assert body["errors"][0]["file"] == str(locked)
    assert "permission denied" in body["errors"][0]["error"].lower()
