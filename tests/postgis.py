"""A throwaway PostgreSQL 15 + PostGIS 3 cluster on loopback, for tests and benchmarks.

`make test` runs as root, and initdb and postgres refuse root: pg_ctl runs through
`tests/pg_ctl_as_postgres` (as the `postgres` user when root), with its data and socket in a
temporary directory that user owns, on a free 127.0.0.1 port. pytest-postgresql's executor
starts and stops the cluster; its janitor creates databases from a template with PostGIS, so a
new database costs a file copy rather than `CREATE EXTENSION postgis`.
"""

from __future__ import annotations

import itertools
import os
import pwd
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from pytest_postgresql.executors import PostgreSQLExecutor
from pytest_postgresql.janitor import DatabaseJanitor

from tests.live import free_port

PG_CTL = Path(__file__).with_name("pg_ctl_as_postgres")
PG_BIN = Path("/usr/lib/postgresql/15/bin")
"""Debian's PostgreSQL 15 (`CMRISK_PG_BIN` names another, as `pg_ctl_as_postgres` reads it)."""
POSTGIS = Path("/usr/share/postgresql/15/extension/postgis.control")
"""Present once Debian's postgresql-15-postgis-3 is installed."""
USER = "postgres"
TEMPLATE = "cmrisk_template"
SETTINGS = ("-c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off "
            "-c full_page_writes=off -c max_connections=200")
"""Loopback only; durability off (a test cluster is thrown away)."""


@dataclass
class Cluster:
    """A running cluster: where it listens and how to make databases in it."""

    host: str
    port: int
    _names: Iterator[int] = field(default_factory=itertools.count)

    def url(self, dbname: str) -> str:
        """The connection URL of a database (trust authentication: no password)."""
        return f"postgresql://{USER}@{self.host}:{self.port}/{dbname}"

    def janitor(self, dbname: str, *, template: str | None = TEMPLATE) -> DatabaseJanitor:
        """pytest-postgresql's janitor of `dbname` in this cluster."""
        return DatabaseJanitor(user=USER, host=self.host, port=self.port, dbname=dbname,
                               template_dbname=template)

    def reader(self, url: str) -> str:
        """The URL of a role that may read, not write, the `cmrisk` schema of the database at
        `url` and its large objects so far (as a deployment may give the API): loads into it
        fail for want of rights."""
        dbname = url.rsplit("/", 1)[1]
        role = f"reader_{dbname}"
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f'CREATE ROLE "{role}" LOGIN')
            conn.execute("CREATE SCHEMA IF NOT EXISTS cmrisk")
            conn.execute(f'GRANT USAGE ON SCHEMA cmrisk TO "{role}"')
            conn.execute(f'GRANT SELECT ON ALL TABLES IN SCHEMA cmrisk TO "{role}"')
            conn.execute(f'ALTER DEFAULT PRIVILEGES IN SCHEMA cmrisk GRANT SELECT ON TABLES '
                         f'TO "{role}"')
            for (oid,) in conn.execute("SELECT oid FROM pg_largeobject_metadata").fetchall():
                conn.execute(f'GRANT SELECT ON LARGE OBJECT {int(oid)} TO "{role}"')
        return f"postgresql://{role}@{self.host}:{self.port}/{dbname}"

    @contextmanager
    def database(self) -> Iterator[str]:
        """A new database with PostGIS, dropped afterwards; yields its URL."""
        name = f"cmrisk_{os.getpid()}_{next(self._names)}"
        janitor = self.janitor(name)
        janitor.init()
        try:
            yield self.url(name)
        finally:
            janitor.drop()
            with psycopg.connect(self.url(TEMPLATE), autocommit=True) as conn:
                conn.execute(f'DROP ROLE IF EXISTS "reader_{name}"')


@contextmanager
def postgis_cluster() -> Iterator[Cluster]:
    """Start a cluster with a PostGIS template database; stop and remove it afterwards."""
    pg_bin = Path(os.environ.get("CMRISK_PG_BIN", str(PG_BIN)))
    if not (pg_bin / "pg_ctl").exists() or (pg_bin == PG_BIN and not POSTGIS.exists()):
        raise RuntimeError("PostgreSQL 15 + PostGIS 3 are missing: apt-get install "
                           "postgresql-15-postgis-3 (`make test` installs it)")
    folder = Path(tempfile.mkdtemp(prefix="cmrisk-pg-"))
    if os.geteuid() == 0:
        account = pwd.getpwnam(USER)
        os.chown(folder, account.pw_uid, account.pw_gid)
    port = free_port()
    executor = PostgreSQLExecutor(
        executable=str(PG_CTL), host="127.0.0.1", port=port, datadir=str(folder / "data"),
        unixsocketdir=str(folder), logfile=str(folder / "postgresql.log"), startparams="-w",
        dbname=TEMPLATE, user=USER, postgres_options=SETTINGS)
    executor.start()
    try:
        cluster = Cluster("127.0.0.1", port)
        cluster.janitor(TEMPLATE, template=None).init()
        with psycopg.connect(cluster.url(TEMPLATE), autocommit=True) as conn:
            conn.execute("CREATE EXTENSION postgis")
        yield cluster
    finally:
        executor.stop()
        shutil.rmtree(folder, ignore_errors=True)
