"""`portal web` with two workers shares keep-alive connections between them.

With one listening socket shared by the workers (uvicorn's own mode), the
first worker to wake accepted every pending connection: 20 connections a
client opened together all went to one worker (seen: 20/0, 19/1) while the
other idled, and those clients waited twice as long. Each worker now listens
on a socket of its own (``portal/web/serve.py``) and gets a fair part.
"""

from __future__ import annotations

import asyncio
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

from tests.benchmarks.bench_web import Client, _stop_server
from tests.integration.money_support import free_port
from tests.integration.test_up_supervision import _children

CONNECTIONS = 20


def _listening_inodes(port: int) -> set[str]:
    """Socket inodes of established connections whose local port is ``port``."""
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if int(fields[1].split(":")[1], 16) == port and fields[3] == "01":
            inodes.add(fields[9])
    return inodes


def _connections_held(pid: int, inodes: set[str]) -> int:
    held = 0
    for fd in (Path("/proc") / str(pid) / "fd").iterdir():
        try:
            match = re.fullmatch(r"socket:\[(\d+)\]", os.readlink(fd))
        except OSError:
            continue
        held += bool(match and match.group(1) in inodes)
    return held


async def _round(port: int, workers: list[int]) -> list[int]:
    clients = [Client(port) for _ in range(CONNECTIONS)]

    async def use(client: Client) -> None:
        for _ in range(20):
            status, _body = await client.get("/healthz", "none")
            assert status == 200

    try:
        await asyncio.gather(*(use(client) for client in clients))
        inodes = _listening_inodes(port)
        return [_connections_held(pid, inodes) for pid in workers]
    finally:
        for client in clients:
            await client.close()


def test_connections_opened_together_are_shared_by_the_workers(database, settings, tmp_path):
    from portal.cli import _env_for

    port = free_port()
    env = {**_env_for(settings), "PORTAL_PORT": str(port), "PORTAL_WEB_WORKERS": "2",
           "PORTAL_DATA_DIR": str(tmp_path)}
    log = open(tmp_path / "web.log", "wb")
    web = subprocess.Popen([sys.executable, "-m", "portal.cli", "web"], env=env, stdout=log,
                           stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.time() + 60
        while (tmp_path / "web.log").read_text(errors="replace").count("Application startup complete") < 2:
            assert web.poll() is None, (tmp_path / "web.log").read_text(errors="replace")
            assert time.time() < deadline, "the two workers did not start"
            time.sleep(0.3)
        workers = [pid for pid in _children(web.pid)  # not multiprocessing's resource tracker
                   if b"spawn_main" in (Path("/proc") / str(pid) / "cmdline").read_bytes()]
        assert len(workers) == 2, workers
        # Rounds of 20 connections opened together, each sending requests; with
        # one shared socket every round after the first went 20/0 or 0/20. With
        # a socket per worker the kernel picks at random: fewer than 3 of 20
        # happens once in 2,500 rounds.
        for _ in range(3):
            held = asyncio.run(_round(port, workers))
            assert sum(held) == CONNECTIONS, held  # and the bench client kept them alive
            assert min(held) >= 3, f"connections per worker: {held}"
    finally:
        _stop_server(web)
        log.close()


def test_a_port_another_server_listens_on_is_refused(database, settings, tmp_path):
    # Another server of the same user with SO_REUSEPORT (an orphaned
    # `portal web`): the workers' sockets could join its group and share its
    # connections, so `portal web` refuses the port instead.
    from portal.cli import _env_for

    with socket.socket() as orphan:
        orphan.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        orphan.bind(("127.0.0.1", 0))
        orphan.listen()
        port = orphan.getsockname()[1]
        env = {**_env_for(settings), "PORTAL_PORT": str(port), "PORTAL_WEB_WORKERS": "2",
               "PORTAL_DATA_DIR": str(tmp_path)}
        web = subprocess.Popen([sys.executable, "-m", "portal.cli", "web"], env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, start_new_session=True)
        try:
            output, _ = web.communicate(timeout=60)
        finally:
            _stop_server(web)  # the whole group, had it started after all
    assert web.returncode == 1
    assert f"port {port} on 127.0.0.1 is taken" in output
