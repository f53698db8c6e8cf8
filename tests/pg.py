"""A throwaway PostgreSQL server for the tests (Debian's packages, no Docker).

``initdb`` and ``pg_ctl`` refuse to run as root, and CI runs as root: those two binaries then run
as the ``postgres`` user (``runuser``), with their folders handed to it; the test process stays
as it is and connects over TCP on 127.0.0.1 with a password (scram-sha-256), which Shipway must
take from ``$SHIPWAY_DB_PASSWORD`` since the URLs it writes never hold one. The server keeps
nothing durable (fsync off) and is removed at the end of the session.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

PASSWORD = "shipway-test-secret"


@dataclass
class PostgresServer:
    port: int
    folder: Path
    _counter: int = 0

    @property
    def admin(self) -> str:
        return f"postgresql://postgres:{PASSWORD}@127.0.0.1:{self.port}/postgres"

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        """A fresh, empty database; returns its SQLAlchemy URL."""
        import psycopg

        self._counter += 1
        name = f"shipway_{os.getpid()}_{self._counter}"
        with psycopg.connect(self.admin, autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


def binaries() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _as_owner(command: list[str]) -> list[str]:
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *command]
    return command


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def running_server():
    """Start a server, yield it, stop it and remove its folder."""
    bin_dir = binaries()
    if bin_dir is None:
        raise RuntimeError(
            "PostgreSQL is not installed: apt-get install postgresql (scripts/test does)"
        )
    folder = Path(tempfile.mkdtemp(prefix="shipway-pg-"))
    data, sockets = folder / "data", folder / "sockets"
    sockets.mkdir()
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres")
        shutil.chown(sockets, "postgres")
    port = _free_port()
    password_file = folder / "password"
    password_file.write_text(PASSWORD)
    if os.geteuid() == 0:
        shutil.chown(password_file, "postgres")
    subprocess.run(
        _as_owner([str(bin_dir / "initdb"), "-D", str(data), "--auth-local=trust",
                   "--auth-host=scram-sha-256", f"--pwfile={password_file}", "--no-sync",
                   "-U", "postgres", "--encoding=UTF8", "--locale=C"]),
        check=True, capture_output=True,
    )  # fmt: skip
    options = " ".join(
        [f"-p {port}", f"-k {sockets}", "-c listen_addresses=127.0.0.1", "-c fsync=off",
         "-c synchronous_commit=off", "-c full_page_writes=off", "-c max_connections=200"]
    )  # fmt: skip
    subprocess.run(
        _as_owner([str(bin_dir / "pg_ctl"), "-D", str(data), "-o", options, "-l",
                   str(folder / "server.log"), "-w", "-t", "60", "start"]),
        check=True, capture_output=True,
    )  # fmt: skip
    try:
        _wait(port)
        yield PostgresServer(port, folder)
    finally:
        subprocess.run(
            _as_owner([str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
            capture_output=True, check=False,
        )  # fmt: skip
        shutil.rmtree(folder, ignore_errors=True)


def _wait(port: int, timeout: float = 30) -> None:
    import psycopg

    deadline = time.monotonic() + timeout
    while True:
        try:
            psycopg.connect(f"postgresql://postgres:{PASSWORD}@127.0.0.1:{port}/postgres").close()
            return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
