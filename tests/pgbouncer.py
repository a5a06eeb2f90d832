"""A throwaway PgBouncer (Debian's ``pgbouncer``) in transaction mode, for tests.

It listens on a free loopback port, with its config, auth file and log in a
temporary directory, and serves the one database of
``settings.database_url``. Like a production setup (deploy/compose.yaml) it
drops the ``search_path`` startup parameter and has no reset query.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from portal.core.db import database_name
from portal.devservices.postgres import postgres_os_user

START_TIMEOUT = 10.0


@dataclass
class PgBouncer:
    process: subprocess.Popen
    port: int
    directory: Path

    def url_for(self, database_url: str) -> str:
        """``database_url`` with its host and port replaced by this bouncer's."""
        parsed = urlparse(database_url)
        user = f"{parsed.username}@" if parsed.username else ""
        return parsed._replace(netloc=f"{user}127.0.0.1:{self.port}").geturl()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.directory, ignore_errors=True)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start(database_url: str, pool_size: int = 2) -> PgBouncer:
    """Serve only the database of ``database_url`` (as in production: no
    ``postgres`` maintenance database behind the bouncer)."""
    exe = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
    if not os.access(exe, os.X_OK):
        raise RuntimeError("pgbouncer is not installed (Debian package pgbouncer)")
    server = urlparse(database_url)
    user = server.username or "postgres"
    database = database_name(database_url)
    port = _free_port()
    directory = Path(tempfile.mkdtemp(prefix="pgbouncer-"))
    (directory / "userlist.txt").write_text(f'"{user}" "{server.password or ""}"\n')
    (directory / "pgbouncer.ini").write_text(
        "[databases]\n"
        f"{database} = host={server.hostname or '127.0.0.1'} port={server.port or 5432} dbname={database}\n"
        "[pgbouncer]\n"
        f"listen_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n"
        f"auth_type = trust\nauth_file = {directory / 'userlist.txt'}\n"
        f"logfile = {directory / 'pgbouncer.log'}\npidfile = {directory / 'pgbouncer.pid'}\n"
        "pool_mode = transaction\n"
        f"default_pool_size = {pool_size}\nmin_pool_size = 0\nreserve_pool_size = 0\n"
        "max_client_conn = 500\n"
        "ignore_startup_parameters = search_path\n"
        "server_reset_query =\n"
    )
    command = [exe, str(directory / "pgbouncer.ini")]
    run_as = postgres_os_user()  # pgbouncer refuses to run as root
    if run_as is not None:
        os.chown(directory, run_as.pw_uid, run_as.pw_gid)
        for path in directory.iterdir():
            os.chown(path, run_as.pw_uid, run_as.pw_gid)
        command[1:1] = ["-u", run_as.pw_name]
    process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                               stderr=subprocess.STDOUT, start_new_session=True)
    bouncer = PgBouncer(process, port, directory)
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log = (directory / "pgbouncer.log")
            text = log.read_text(errors="replace") if log.exists() else ""
            bouncer.stop()
            raise RuntimeError(f"pgbouncer exited with {process.returncode}: {text[-2000:]}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return bouncer
        except OSError:
            time.sleep(0.05)
    bouncer.stop()
    raise RuntimeError(f"pgbouncer did not listen on port {port} within {START_TIMEOUT:.0f} s")
