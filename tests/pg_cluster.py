"""A throwaway PostGIS cluster for the store tests, with a fresh empty database per test.

``pg_cluster()`` starts a private PostgreSQL cluster (``initdb`` into a temporary directory,
listening only on 127.0.0.1 on a free port, ``fsync=off``) and stops and removes it at the end;
when ``STREETSAFE_TEST_DATABASE_URL`` is set it uses that server instead and starts nothing.
Missing binaries or a missing PostGIS make it fail loudly, never skip: the PostGIS engine is what
a deployment runs, so its tests must not silently go missing.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

ENV_URL = "STREETSAFE_TEST_DATABASE_URL"
ENV_BINDIR = "STREETSAFE_PG_BINDIR"
INSTALL_HINT = (
    "install PostgreSQL 15 with PostGIS 3 (Debian/Ubuntu: apt-get install postgresql-15-postgis-3),"
    f" point {ENV_BINDIR} at the directory holding initdb and pg_ctl, or set {ENV_URL} to a"
    " PostGIS server where the user may create databases"
)
_OS_USER = "postgres"  # PostgreSQL refuses to run as root
_START_ATTEMPTS = 5


class ClusterError(RuntimeError):
    """The test cluster could not be found, started or used; the message says what to install."""


@dataclass(frozen=True)
class PgCluster:
    """A running PostgreSQL server the tests may create and drop databases on."""

    url: str  # the maintenance database, as a superuser (or a user with CREATEDB)
    # a database to copy new ones from (already migrated, say), or None: template1
    template: str | None = None

    def create_database(self, *, empty: bool = False) -> str:
        """Create a database with a unique name; return its ``postgresql://`` URL.

        It is a copy of :attr:`template` (cheaper than migrating each one), or ``empty``.
        """
        name = f"test_{uuid.uuid4().hex}"
        statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        if self.template is not None and not empty:
            statement += sql.SQL(" TEMPLATE {}").format(sql.Identifier(self.template))
        with psycopg.connect(self.url, autocommit=True) as con:
            con.execute(statement)
        return database_url(self.url, name)

    def with_template(self, prepare: Callable[[str], None]) -> PgCluster:
        """Return this server with a template database that ``prepare`` (given its URL) made."""
        url = self.create_database(empty=True)
        prepare(url)
        name = urlsplit(url).path.lstrip("/")
        with psycopg.connect(self.url, autocommit=True) as con:  # no one may be connected to it
            con.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                (name,),
            )
        return PgCluster(self.url, template=name)

    def drop_database(self, url: str) -> None:
        """Drop the database ``url`` names, disconnecting anyone still connected to it."""
        name = urlsplit(url).path.lstrip("/")
        with psycopg.connect(self.url, autocommit=True) as con:
            con.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )

    @contextmanager
    def fresh_database(self, *, empty: bool = False) -> Iterator[str]:
        """Yield the URL of a new database (a copy of the template, or ``empty``), then drop it."""
        url = self.create_database(empty=empty)
        try:
            yield url
        finally:
            self.drop_database(url)


def database_url(url: str, name: str) -> str:
    """Return ``url`` pointing at the database ``name`` instead."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


@contextmanager
def pg_cluster(*, settings: Mapping[str, str] | None = None) -> Iterator[PgCluster]:
    """Yield a PostGIS server: ``STREETSAFE_TEST_DATABASE_URL`` if set, else a throwaway one.

    ``settings`` are extra ``postgresql.conf`` lines for the throwaway cluster (values as they
    would be written there, e.g. ``{"shared_buffers": "'1GB'"}``); a configured server ignores
    them.
    """
    external = os.environ.get(ENV_URL)
    if external:
        if not external.startswith(("postgresql://", "postgres://")):
            raise ClusterError(f"{ENV_URL} must be a postgresql:// URL")
        _check_postgis(external, where=f"the server {ENV_URL} names")
        yield PgCluster(external)
        return
    with _throwaway_cluster(dict(settings or {})) as url:
        yield PgCluster(url)


# --- the throwaway cluster -------------------------------------------------------------------


@contextmanager
def _throwaway_cluster(settings: dict[str, str]) -> Iterator[str]:
    bindir = _find_bindir()
    owner = _os_owner()
    root = Path(tempfile.mkdtemp(prefix="streetsafe-pg-"))
    data = root / "data"
    try:
        sockets = root / "sockets"
        sockets.mkdir()
        if owner is not None:
            for path in (root, sockets):
                os.chown(path, owner.pw_uid, owner.pw_gid)
        root.chmod(0o700)
        _run(
            owner,
            root,
            bindir / "initdb",
            "-D",
            str(data),
            "-U",
            "postgres",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--no-locale",
            "--no-sync",
        )
        url = _start(owner, root=root, bindir=bindir, data=data, sockets=sockets, settings=settings)
    except BaseException:
        _remove(root)
        raise
    try:
        _check_postgis(url, where="the throwaway cluster")
        yield url
    finally:
        _stop(owner, root, bindir, data)
        _remove(root)


def _find_bindir() -> Path:
    candidates: list[Path] = []
    if os.environ.get(ENV_BINDIR):
        candidates.append(Path(os.environ[ENV_BINDIR]))
    candidates += sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
        reverse=True,
    )
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(Path(on_path).parent)
    for bindir in candidates:
        if all((bindir / tool).is_file() for tool in ("initdb", "pg_ctl", "postgres")):
            return bindir
    raise ClusterError(f"the PostGIS tests found no initdb/pg_ctl/postgres; {INSTALL_HINT}")


def _os_owner() -> pwd.struct_passwd | None:
    """Return the OS user to run PostgreSQL as when we are root, else None (run as ourselves)."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(_OS_USER)
    except KeyError:
        raise ClusterError(
            f"running as root, the PostGIS tests need the OS user {_OS_USER!r} to run "
            f"PostgreSQL as, and there is none; {INSTALL_HINT}"
        ) from None


def _run(owner: pwd.struct_passwd | None, cwd: Path, *argv: str | Path) -> None:
    command = [str(a) for a in argv]
    if owner is not None:
        command = ["runuser", "-u", owner.pw_name, "--", *command]
    # libpq and the server tools read PG* variables; none of the caller's may leak in
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise ClusterError(
            f"{' '.join(command)} failed (exit {done.returncode}):\n{done.stdout}{done.stderr}"
        )


def _start(
    owner: pwd.struct_passwd | None,
    *,
    root: Path,
    bindir: Path,
    data: Path,
    sockets: Path,
    settings: dict[str, str],
) -> str:
    conf = data / "postgresql.conf"
    base = conf.read_text()
    log = root / "server.log"
    for _ in range(_START_ATTEMPTS):
        log.unlink(missing_ok=True)  # so a failure is judged by this attempt's log alone
        port = _free_port()
        # settings go into the file, not pg_ctl -o, which passes them through a shell
        conf.write_text(
            base
            + "\n# streetsafe test cluster\n"
            + "listen_addresses = '127.0.0.1'\n"
            + f"port = {port}\n"
            + f"unix_socket_directories = '{sockets}'\n"
            + "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n"
            + "".join(f"{name} = {value}\n" for name, value in settings.items())
        )
        try:
            # -l matters: without it the server keeps our stdout pipe open and run() never returns
            _run(owner, root, bindir / "pg_ctl", "-D", data, "-l", log, "-w", "-t", "60", "start")
        except ClusterError as exc:
            text = log.read_text(errors="replace") if log.exists() else ""
            if "could not bind" in text or "Address already in use" in text:
                continue  # someone took the port between our probe and the server's bind
            raise ClusterError(f"{exc}\nserver log:\n{text}") from None
        return f"postgresql://postgres@127.0.0.1:{port}/postgres"
    raise ClusterError(f"no free port for the test cluster after {_START_ATTEMPTS} attempts")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _stop(owner: pwd.struct_passwd | None, root: Path, bindir: Path, data: Path) -> None:
    try:
        _run(owner, root, bindir / "pg_ctl", "-D", data, "-m", "fast", "-w", "-t", "30", "stop")
        return
    except ClusterError:
        pass
    # the server would not stop cleanly: end the postmaster we started, by its pid
    pid_file = data / "postmaster.pid"
    if pid_file.exists():
        pid = int(pid_file.read_text().split("\n", 1)[0])
        try:
            os.kill(pid, signal.SIGQUIT)
        except ProcessLookupError:
            return
        for _ in range(100):
            if not pid_file.exists():
                return
            time.sleep(0.1)
        os.kill(pid, signal.SIGKILL)


def _remove(root: Path) -> None:
    shutil.rmtree(root, ignore_errors=True)


def _check_postgis(url: str, *, where: str) -> None:
    """Fail unless PostGIS is installed where ``url`` points and the extension loads."""
    try:
        con = psycopg.connect(url, autocommit=True, connect_timeout=10)
    except psycopg.Error as exc:
        raise ClusterError(f"cannot connect to {where}: {exc}") from exc
    with con:
        row = con.execute(
            "SELECT count(*) FROM pg_available_extensions WHERE name = 'postgis'"
        ).fetchone()
        if not row or not row[0]:
            raise ClusterError(f"PostGIS is not installed on {where}; {INSTALL_HINT}")
        try:
            # prove the extension loads (its shared library is there), without keeping it
            con.execute("BEGIN")
            con.execute("CREATE EXTENSION IF NOT EXISTS postgis")
            con.execute("SELECT postgis_full_version()")
        except psycopg.Error as exc:
            raise ClusterError(
                f"PostGIS does not work on {where}: {exc}; the test user must be a superuser "
                f"(or PostGIS already installed in template1); {INSTALL_HINT}"
            ) from exc
        finally:
            con.execute("ROLLBACK")
