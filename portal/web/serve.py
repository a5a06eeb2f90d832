"""The web server's processes: uvicorn, one worker per core, each worker with
a listening socket of its own on the same port (``SO_REUSEPORT``).

uvicorn's own multi-worker mode hands every worker one shared socket. Under
load the first worker to wake accepts every pending connection: 20 keep-alive
connections opened together went 20/0 (measured with ``portal bench web``),
one worker served them all while the other idled, and their clients waited
twice as long. With a socket per worker the kernel spreads new connections
over the workers. uvicorn still supervises the workers (restarts, signals).
"""

from __future__ import annotations

import logging
import socket
import sys

import uvicorn
from uvicorn.config import STARTUP_FAILURE
from uvicorn.supervisors import Multiprocess

from portal.core.settings import Settings

APP = "portal.asgi:app"
BACKLOG = 2048  # uvicorn's default


def run(settings: Settings, *, workers: int, reload: bool = False) -> None:
    options = {"host": settings.host, "port": settings.port, "proxy_headers": True, "log_level": "info",
               "access_log": settings.access_log, "backlog": BACKLOG}
    if reload or workers == 1:
        uvicorn.run(APP, reload=reload, workers=1, **options)
        return
    config = uvicorn.Config(APP, workers=workers, **options)
    logger = logging.getLogger("uvicorn.error")
    config.configure_logging()
    try:
        _refuse_if_taken(settings.host, settings.port)
    except OSError as exc:
        logger.error("port %s on %s is taken: %s", settings.port, settings.host, exc)
        sys.exit(1)
    logger.info("Uvicorn running on http://%s:%s with %s workers, a listening socket each (Press CTRL+C to quit)",
                settings.host, settings.port, workers)
    Multiprocess(config, sockets=[WorkerSocket(settings.host, settings.port)]).run()


def _refuse_if_taken(host: str, port: int) -> None:
    """Fail as a plain bind would when anything listens there already: the
    workers' sockets could otherwise join another server's group of the same
    user (an orphaned ``portal web``) and share its connections."""
    with socket.socket(_family(host), socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind((host, port))


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


class WorkerSocket:
    """Stands for the listening socket in the list uvicorn gives each worker:
    unpickled in the worker process, it becomes a socket of that worker's own."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port

    def __reduce__(self):
        return listen_in_worker, (self.host, self.port)


def listen_in_worker(host: str, port: int) -> socket.socket:
    sock = socket.socket(_family(host), socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
        sock.listen(BACKLOG)
    except OSError as exc:
        sock.close()
        logging.getLogger("uvicorn.error").error("worker could not listen on %s:%s: %s", host, port, exc)
        # uvicorn's supervisor stops, rather than restarting the worker for ever.
        sys.exit(STARTUP_FAILURE)
    return sock
