"""``portal up``'s children: the web server, Celery worker and beat, each a
``python -m portal.cli NAME`` process in its own session (a Ctrl-C is handled
once, by ``up``) that the kernel kills when ``up`` dies, even by SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from portal.devservices.processes import STOP_TIMEOUT, die_with_parent


class Supervisor:
    def __init__(self, env: dict[str, str], logs: Path):
        self.env = env
        self.logs = logs
        self.children: list[subprocess.Popen] = []

    def start(self, name: str) -> None:
        """Start ``portal NAME``; its output is appended to ``<logs>/NAME.log``."""
        self.logs.mkdir(parents=True, exist_ok=True)
        with open(self.logs / f"{name}.log", "ab") as out:
            self.children.append(subprocess.Popen(
                [sys.executable, "-m", "portal.cli", name], env=self.env, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True, preexec_fn=die_with_parent()))

    def wait_any(self, poll: float = 1.0) -> list[str]:
        """Block until a child exits; the names of those that did."""
        while all(child.poll() is None for child in self.children):
            time.sleep(poll)
        return [child.args[-1] for child in self.children if child.poll() is not None]

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """SIGTERM every child's process group, SIGKILL those still there after ``timeout``."""
        for child in self.children:
            if child.poll() is None:
                os.killpg(child.pid, signal.SIGTERM)
        for child in self.children:
            try:
                child.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(child.pid, signal.SIGKILL)
                child.wait()


def wait_for_http(url: str, timeout: float = 60) -> bool:
    """True once ``url`` answers (any status below 400), False after ``timeout`` seconds."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return True
        except OSError:
            time.sleep(0.5)
    return False
