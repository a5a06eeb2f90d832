"""`portal up` for real: killed with SIGKILL (its whole process group), it
takes web, worker and beat with it; started while its port is held, it refuses
and names the process holding it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from tests.integration.money_support import free_port


def _env(settings, tmp_path: Path, port: int) -> dict[str, str]:
    from portal.cli import _env_for

    return {**_env_for(settings), "PORTAL_PORT": str(port), "PORTAL_DATA_DIR": str(tmp_path),
            "PORTAL_BASE_URL": f"http://127.0.0.1:{port}"}


def _children(pid: int) -> list[int]:
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(proc.name))
            except (OSError, IndexError, ValueError):
                continue
    return found


def _running(pid: int) -> bool:
    """Alive and not a zombie waiting to be reaped."""
    try:
        return (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def _wait_for_line(path: Path, text: str, proc: subprocess.Popen, timeout: float) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if text in path.read_text(errors="replace"):
            return
        assert proc.poll() is None, path.read_text(errors="replace")
        time.sleep(0.2)
    raise AssertionError(f"{text!r} not printed in {timeout} s:\n{path.read_text(errors='replace')}")


def test_children_die_with_up_killed_by_sigkill(database, settings, tmp_path):
    port = free_port()
    out = tmp_path / "up.out"
    with open(out, "wb") as sink:
        up = subprocess.Popen([sys.executable, "-m", "portal.cli", "up", "--no-demo"], env=_env(settings, tmp_path, port),
                              stdout=sink, stderr=subprocess.STDOUT, start_new_session=True)
    children: list[int] = []
    try:
        _wait_for_line(out, "running at", up, 120)
        children = _children(up.pid)
        commands = [(Path("/proc") / str(c) / "cmdline").read_bytes() for c in children]
        assert len(children) == 3, commands  # web, worker, beat
        assert not socket.socket().connect_ex(("127.0.0.1", port))  # the web server answers
        os.killpg(up.pid, signal.SIGKILL)  # the whole group, as a terminal or a supervisor would
        up.wait(timeout=10)
        deadline = time.time() + 30
        while any(_running(c) for c in children) and time.time() < deadline:
            time.sleep(0.2)
        assert not [c for c in children if _running(c)], "orphans left running"
        with socket.socket() as probe:
            assert probe.connect_ex(("127.0.0.1", port)) != 0  # the port is free for the next `up`
    finally:
        if up.poll() is None:
            os.killpg(up.pid, signal.SIGKILL)
        for child in children:
            if _running(child):
                os.killpg(child, signal.SIGKILL)


def test_up_refuses_a_taken_port_naming_the_holder(settings, tmp_path):
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        result = subprocess.run([sys.executable, "-m", "portal.cli", "up", "--no-demo"],
                                env=_env(settings, tmp_path, port), capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert f"port {port}" in result.stderr and f"pid {os.getpid()}" in result.stderr, result.stderr
    assert "pytest" in result.stderr or "python" in result.stderr  # the holder's command line
    assert not (tmp_path / "logs").exists()  # nothing was started


def test_port_holder_reports_nothing_for_a_free_port():
    from portal.devservices.probes import port_holder

    assert port_holder(free_port()) is None

