"""A throwaway PostgreSQL server, started as a child process for tests and benchmarks.

Debian's server binaries (package ``postgresql``) are used directly: ``initdb``
into a temporary directory, then ``postgres`` in the foreground on a free
loopback port. PostgreSQL refuses to run as root, so as root both run as the
``postgres`` user through ``runuser``.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL server binaries here, or the server would not start."""


def _bin_dir() -> str:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"))
    if found:
        return os.path.dirname(found[-1])
    on_path = shutil.which("postgres")
    if on_path:
        return os.path.dirname(on_path)
    raise PostgresUnavailable("no PostgreSQL server binaries: apt-get install postgresql")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class PostgresServer:
    directory: str
    port: int
    process: subprocess.Popen[bytes]

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        shutil.rmtree(self.directory, ignore_errors=True)


def start(*, durable: bool = False) -> PostgresServer:
    """Start a server; ``durable=False`` turns fsync off (tests), True keeps it (benchmarks)."""
    bin_dir = _bin_dir()
    as_postgres: list[str] = []
    directory = tempfile.mkdtemp(prefix="prepaid-pg-")
    if os.geteuid() == 0:
        shutil.chown(directory, "postgres", "postgres")
        as_postgres = ["runuser", "-u", "postgres", "--"]
    data = os.path.join(directory, "data")
    init = subprocess.run(
        [
            *as_postgres,
            f"{bin_dir}/initdb",
            "-D",
            data,
            "-U",
            "postgres",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--no-sync",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if init.returncode != 0:
        shutil.rmtree(directory, ignore_errors=True)
        raise PostgresUnavailable(f"initdb failed: {init.stderr.strip()[-500:]}")
    port = _free_port()
    settings = [
        "-c",
        "listen_addresses=127.0.0.1",
        "-c",
        f"unix_socket_directories={directory}",
        "-c",
        "max_connections=100",
    ]
    if not durable:
        settings += [
            "-c",
            "fsync=off",
            "-c",
            "synchronous_commit=off",
            "-c",
            "full_page_writes=off",
        ]
    process = subprocess.Popen(
        [*as_postgres, f"{bin_dir}/postgres", "-D", data, "-p", str(port), *settings],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    server = PostgresServer(directory, port, process)
    deadline = time.monotonic() + 30
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                err = process.stderr.read().decode() if process.stderr else ""
                server.stop()
                raise PostgresUnavailable(f"postgres did not start: {err.strip()[-500:]}") from None
            time.sleep(0.05)
    # Accepting TCP is not yet accepting logins: wait for the first real connection.
    import psycopg

    while True:
        try:
            psycopg.connect(f"host=127.0.0.1 port={port} user=postgres dbname=postgres").close()
            return server
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                server.stop()
                raise PostgresUnavailable("postgres accepted no login within 30 s") from None
            time.sleep(0.05)


def create_database(server: PostgresServer, name: str, *, template: str | None = None) -> str:
    import psycopg

    with psycopg.connect(
        f"host=127.0.0.1 port={server.port} user=postgres dbname=postgres", autocommit=True
    ) as conn:
        suffix = f" TEMPLATE {template}" if template else ""
        conn.execute(f'CREATE DATABASE "{name}"{suffix}')  # type: ignore[arg-type]
    return server.url(name)
