"""Child processes of the development tools: start them in their own session,
tied to our life (``die_with_parent``), log their output, wait for them to be
ready, and stop them with their whole process group."""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:
    from portal.devservices.probes import Endpoint

log = logging.getLogger(__name__)

STOP_TIMEOUT = 15.0


class ServiceError(RuntimeError):
    """A backing service is unreachable, unusable, or failed to start."""


@dataclass
class StartedService:
    name: str
    endpoint: Endpoint
    pid: int
    stop: Callable[[], None]
    log_path: Path
    stopped: bool = False


PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def die_with_parent(sig: int = signal.SIGTERM) -> Callable[[], None]:
    """A ``preexec_fn`` that has the kernel send ``sig`` to the child when the
    process starting it dies, even by SIGKILL (which runs no cleanup of ours).
    Children live in their own session, so a signal to our process group alone
    would not reach them. The kernel ties this to the *thread* that forks: start
    children from a thread that lives as long as the process (the main one)."""
    parent = os.getpid()

    def preexec() -> None:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0)
        if os.getppid() != parent:  # the parent died before prctl took effect
            os.kill(os.getpid(), sig)

    return preexec



def wait_for_text(path: Path, text: str, timeout: float, proc: subprocess.Popen) -> bool:
    deadline = time.monotonic() + timeout
    needle = text.encode()
    while proc.poll() is None:
        try:
            if needle in path.read_bytes():
                return True
        except OSError:
            pass
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return False


def write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.chmod(path, 0o600)


def spawn(cmd: list, cwd: Path, logfile: Path, env: dict | None = None) -> subprocess.Popen:
    """Start a child in its own process group (session), output appended to ``logfile``."""
    with open(logfile, "ab") as out:
        out.write(f"\n==== {time.strftime('%Y-%m-%d %H:%M:%S')} {' '.join(map(str, cmd))}\n".encode())
        out.flush()
        proc = subprocess.Popen(
            [str(c) for c in cmd], cwd=cwd, env=env, stdin=subprocess.DEVNULL,
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=die_with_parent(),
        )
    log.info("started %s (pid %s), log %s", cmd[0], proc.pid, logfile)
    return proc


def run_logged(cmd: list, logfile: Path, *, what: str, env: dict | None = None, **kwargs) -> None:
    with open(logfile, "ab") as out:
        out.write(f"\n==== {time.strftime('%Y-%m-%d %H:%M:%S')} {' '.join(map(str, cmd))}\n".encode())
        out.flush()
        result = subprocess.run(
            [str(c) for c in cmd], stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            env=env, **kwargs,
        )
    if result.returncode != 0:
        raise ServiceError(f"{what} failed (exit {result.returncode}), see {logfile}:\n{tail(logfile)}")


def tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def wait_until(check: Callable[[], object], timeout: float, proc: subprocess.Popen, what: str, logfile: Path) -> None:
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while True:
        if proc.poll() is not None:
            raise ServiceError(f"{what}: process exited with {proc.returncode}, see {logfile}:\n{tail(logfile)}")
        try:
            check()
            return
        except Exception as exc:
            last = exc
        if time.monotonic() > deadline:
            raise ServiceError(f"{what}: not ready after {timeout:.0f} s ({last}), see {logfile}")
        time.sleep(0.25)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def signal_and_wait(pid: int, sig: int, *, group: bool, timeout: float = STOP_TIMEOUT) -> None:
    kill = os.killpg if group else os.kill
    try:
        kill(pid, sig)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    if alive(pid):
        try:
            kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def stop_child(proc: subprocess.Popen, timeout: float = STOP_TIMEOUT) -> None:
    """SIGTERM the child's process group, SIGKILL what is left after ``timeout``, reap it.

    The leader is only reaped at the end, so its pid (= the group id) cannot be
    reused by an unrelated process while we still signal the group."""
    if proc.returncode is not None:  # already exited and reaped
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None:
                break
        except ChildProcessError:
            break
        time.sleep(0.1)
    else:
        log.warning("pid %s did not stop in %.0f s, killing its process group", proc.pid, timeout)
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # the leader if it hung, and any stragglers in its group
    except (ProcessLookupError, PermissionError):
        pass
    proc.wait()
