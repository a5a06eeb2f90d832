"""A live web server on the test database, and Debian's Chromium driven by Playwright."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

import pytest
import pytest_asyncio

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def live_server(settings, database):
    from portal.cli import _env_for

    port = _free_port()
    live = settings.with_(port=port, base_url=f"http://127.0.0.1:{port}")
    os.makedirs(live.data_dir, exist_ok=True)
    log = open(os.path.join(live.data_dir, "e2e-web.log"), "ab")
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "portal.asgi:app", "--host", "127.0.0.1", "--port", str(port)],
        env=_env_for(live), stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(f"{live.base_url}/healthz", timeout=2):
                break
        except OSError:
            if process.poll() is not None:
                raise RuntimeError("the web server exited; see e2e-web.log")
            time.sleep(0.3)
    yield live.base_url
    process.terminate()
    process.wait(timeout=15)


@pytest_asyncio.fixture(scope="session")
async def browser():
    if not os.path.exists(CHROMIUM):
        pytest.fail("Debian's chromium is not installed (apt-get install chromium)")
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        instance = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield instance
        await instance.close()


@pytest.fixture
def shots(settings):
    folder = os.path.join(settings.data_dir, "e2e")
    os.makedirs(folder, exist_ok=True)
    return folder
