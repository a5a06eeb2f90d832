"""``portal bench documents``: transfer rates through the app next to the SDK,
upload memory, catalog PDF time. Also the helpers the streaming tests share:
an app with the document routes, a uvicorn server on a free port, streamed
multipart bodies, and the server's memory from /proc."""

from __future__ import annotations

import asyncio
import re
import socket
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BLOCK = 1024 * 1024


def with_document_routes(app):
    """Register the document routes on ``app`` unless they are wired in already."""
    from portal.routes.console import documents as console_documents, lending as console_lending
    from portal.routes.portal import documents as portal_documents

    def norm(path: str) -> str:
        return re.sub(r":\w+}", "}", path)

    existing = {norm(route.path) for route in app.routes}
    for handler in [*console_documents.ROUTES, *console_lending.ROUTES, *portal_documents.ROUTES]:
        if not {norm(p) for p in handler.paths} & existing:
            app.register(handler)
    return app


def asgi_app():
    """uvicorn --factory tests.benchmarks.bench_documents:asgi_app (settings from PORTAL_* variables)."""
    from portal.app import create_app
    from portal.core.settings import load_settings

    return with_document_routes(create_app(load_settings()))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """A uvicorn process serving the app on a free loopback port."""

    def __init__(self, settings, log_path: Path | None = None):
        from portal.cli import _env_for

        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = _env_for(settings)
        env["PYTHONPATH"] = str(ROOT)
        out = open(log_path, "ab") if log_path else subprocess.DEVNULL
        self.process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "--factory", "tests.benchmarks.bench_documents:asgi_app", "--host", "127.0.0.1",
             "--port", str(self.port), "--log-level", "warning", "--no-access-log"],
            env=env, cwd=str(ROOT), stdout=out, stderr=subprocess.STDOUT, start_new_session=True)

    def wait(self, timeout: float = 60) -> "Server":
        import urllib.request

        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("uvicorn exited during start-up")
            try:
                with urllib.request.urlopen(self.base + "/healthz", timeout=2):
                    return self
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("uvicorn did not start")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()

    def _status(self, field: str) -> int:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
        raise KeyError(field)

    def rss(self) -> int:
        return self._status("VmRSS")

    def peak_rss(self) -> int:
        return self._status("VmHWM")

    def reset_peak(self) -> None:
        """Reset VmHWM to the current RSS (Linux: write 5 to clear_refs)."""
        Path(f"/proc/{self.process.pid}/clear_refs").write_text("5")


def multipart_stream(fields: dict, filename: str, size: int, block: bytes):
    """(content type, length, iterator): a multipart body whose file part is
    ``size`` bytes generated block by block (never held whole)."""
    boundary = "bench" + uuid.uuid4().hex
    head = b"".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode() for k, v in fields.items()
    ) + (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
         f"Content-Type: application/octet-stream\r\n\r\n").encode()
    tail = f"\r\n--{boundary}--\r\n".encode()

    def gen():
        yield head
        left = size
        while left > 0:
            piece = block if left >= len(block) else block[:left]
            left -= len(piece)
            yield piece
        yield tail

    return f"multipart/form-data; boundary={boundary}", len(head) + size + len(tail), gen()


def text_block(size: int = BLOCK) -> bytes:
    line = b"2024-03-01 ledger line for the tenant archive benchmark 0123456789\n"
    return (line * (size // len(line) + 1))[:size]


async def signed_in_client(base: str, login: str, password: str):
    import httpx

    client = httpx.AsyncClient(base_url=base, timeout=600)
    page = await client.get("/console/login")
    token = client.cookies.get("csrftoken") or re.search(r'name="_csrf_token" value="([^"]+)"', page.text).group(1)
    response = await client.post("/console/login", data={"login": login, "password": password, "_csrf_token": token})
    if response.status_code not in (302, 303):
        raise RuntimeError(f"sign-in failed: {response.status_code}")
    return client


async def page_csrf(client, path: str) -> str:
    page = await client.get(path)
    return re.search(r'name="_csrf_token" value="([^"]+)"', page.text).group(1)


async def stream_upload(client, tenant_id: int, size: int, title: str = "bench") -> "httpx.Response":
    token = await page_csrf(client, f"/console/tenants/{tenant_id}/documents")
    fields = {"category": "correspondence", "title": title, "issue_date": "2024-03-01",
              "confidentiality": "internal"}
    content_type, length, body = multipart_stream(fields, "big.txt", size, text_block())

    async def agen():
        for piece in body:
            yield piece

    return await client.post(f"/console/tenants/{tenant_id}/documents/upload", content=agen(),
                             headers={"content-type": content_type, "content-length": str(length),
                                      "x-csrftoken": token})


# --- the benchmark ------------------------------------------------------------------------------

async def _setup(settings, catalog_docs: int) -> dict:
    import datetime as dt

    from documents.intake import file_generated_document
    from documents.storage import get_storage
    from tests import factories
    from tenants.registry import service as registry

    bld = await factories.building()
    tenant_id = await factories.tenant(bld)
    catalog_tenant = await factories.tenant(bld)
    clerk = await factories.staff(["clerk"], [bld["id"]])
    storage = get_storage(settings)
    ref = await registry.get_ref(catalog_tenant)
    from tests.integration.docs_support import pdf_bytes

    pdf = pdf_bytes("catalog")
    categories = ["payments", "correspondence", "repairs", "fit_out", "violations", "visits"]
    for i in range(catalog_docs):
        await file_generated_document(ref, categories[i % len(categories)], f"第{i + 1}号往来函件",
                                      dt.date(2015, 1, 1) + dt.timedelta(days=i * 7), pdf, i % 2 == 0,
                                      f"N-{i:05d}", storage=storage)
    return {"tenant_id": tenant_id, "catalog_tenant": catalog_tenant, "clerk": clerk}


# Both sides of each comparison use the same HTTP client (urllib3, the SDK's own),
# the same bytes (the text_block() pattern), the same read size (1 MiB) and, for
# uploads, the same S3 part size and number of parts in flight.

class _PatternReader:
    """``read(n)`` of ``size`` bytes of the repeated text_block() pattern, each
    read one slice (the bytes the app upload sends, in the same order)."""

    def __init__(self, size: int, max_read: int):
        self.left = size
        self.offset = 0
        block = text_block()
        self.period = len(block)
        self.max_read = max_read
        self.data = block * (-(-max_read // self.period) + 1)

    def read(self, n=-1):
        n = min(n if n and n > 0 else BLOCK, self.left, self.max_read)
        start = self.offset % self.period
        self.left -= n
        self.offset += n
        return self.data[start:start + n]


def _direct(settings, size: int) -> tuple[float, float]:
    """MB/s of put_object/get_object of the same size straight through the SDK
    (plaintext, no HTTP hop, no encryption)."""
    from documents.upload_stream import PART_SIZE, UPLOAD_PARALLEL
    from portal.core.s3 import s3_client

    client = s3_client(settings)
    key = f"bench/{uuid.uuid4().hex}"
    reader = _PatternReader(size, PART_SIZE + 1)
    started = time.perf_counter()
    result = client.put_object(settings.s3_bucket, key, reader, length=-1, part_size=PART_SIZE,
                               num_parallel_uploads=UPLOAD_PARALLEL)
    up = size / (time.perf_counter() - started) / 1e6
    started = time.perf_counter()
    response = client.get_object(settings.s3_bucket, key)
    received = 0
    for chunk in response.stream(BLOCK):
        received += len(chunk)
    response.close()
    response.release_conn()
    down = size / (time.perf_counter() - started) / 1e6
    assert received == size, received
    client.remove_object(settings.s3_bucket, key, version_id=result.version_id)
    return up, down


def _http():
    import urllib3

    return urllib3.PoolManager(timeout=urllib3.Timeout(connect=10, read=600), retries=False)


def _app_upload(base: str, cookie: str, csrf: str, tenant_id: int, size: int) -> tuple[float, str]:
    """Seconds to post the file through the console form, and the document's path."""
    fields = {"category": "correspondence", "title": "bench", "issue_date": "2024-03-01",
              "confidentiality": "internal"}
    content_type, length, body = multipart_stream(fields, "big.txt", size, text_block())
    started = time.perf_counter()
    response = _http().request("POST", f"{base}/console/tenants/{tenant_id}/documents/upload",
                               body=body, headers={"content-type": content_type, "content-length": str(length),
                                                   "cookie": cookie, "x-csrftoken": csrf}, redirect=False,
                               chunked=False)
    seconds = time.perf_counter() - started
    if response.status not in (302, 303):
        raise RuntimeError(f"upload failed: {response.status} {response.data[:300]!r}")
    return seconds, response.headers["location"].split("?")[0]


def _app_download(base: str, cookie: str, path: str, size: int) -> float:
    """Seconds to download the document, read like the SDK reads an object."""
    started = time.perf_counter()
    response = _http().request("GET", base + path + "/download", headers={"cookie": cookie}, preload_content=False)
    received = 0
    for chunk in response.stream(BLOCK):
        received += len(chunk)
    response.release_conn()
    seconds = time.perf_counter() - started
    if response.status != 200 or received != size:
        raise RuntimeError(f"download failed: {response.status}, {received} bytes")
    return seconds


async def _remove_uploads(settings, tenant_id: int) -> None:
    """Delete the objects the app uploads made (the scratch database is remade next run)."""
    from documents.storage import get_storage
    from tenants.registry import service as registry
    from tenants.scope import tenant_tx

    storage = get_storage(settings)
    ref = await registry.get_ref(tenant_id)
    async with tenant_tx(ref.schema) as tx:
        rows = await tx.connection.fetch("SELECT object_key, s3_version_id FROM document_version")
    for row in rows:
        await storage.aremove(row["object_key"], row["s3_version_id"])


NOTES = {
    "rounds": "app and SDK transfers alternate, `rounds` of each; rates are medians, the *_vs_direct ratios "
              "the median of the per-round ratios",
    "upload_mb_s": "plaintext MB (1e6 bytes) per second of a streamed multipart/form-data POST of the text file to "
                   "the console upload route over loopback (urllib3, 1 MiB writes), until the redirect: HTTP, "
                   "multipart parsing, content sniffing, SHA-256, AES-256-GCM, S3 multipart upload, database rows, "
                   "audit",
    "direct_upload_mb_s": "put_object(length=-1) of the same bytes to the same S3 server with the same part size "
                          "and parts in flight (s3_part_size, s3_parts_in_flight): no HTTP hop, no encryption",
    "download_mb_s": "GET of the document's /download (urllib3, stream(1 MiB)) until the last byte: permission "
                     "check, audit, S3 read, AES-256-GCM decryption, HTTP",
    "direct_download_mb_s": "get_object + stream(1 MiB) of the same size from the same S3 server: no decryption, "
                            "no HTTP hop",
    "upload_peak_rss_mb": "largest growth of the server's peak RSS (VmHWM) during an upload over its RSS "
                          "before the first one",
}


async def _run(settings, size_mb: int, catalog_docs: int, rounds: int, progress) -> dict:
    from portal.core import db
    from portal.core.roles import Principal, Role
    from tenants.registry import service as registry
    from documents.catalog_pdf import catalog_pdf
    from tests import factories

    await db.open_pool(settings)
    try:
        say = progress or (lambda _m: None)
        say(f"preparing ({catalog_docs} catalog documents)…")
        setup = await _setup(settings, catalog_docs)
        size = size_mb * 1024 * 1024
        server = Server(settings, settings.data_path / "bench-uvicorn.log").wait()
        app_up, app_down, direct_up, direct_down, growth = [], [], [], [], []
        try:
            client = await signed_in_client(server.base, setup["clerk"]["username"], factories.PASSWORD)
            warm = await stream_upload(client, setup["tenant_id"], 2 * BLOCK, "warm-up")
            assert warm.status_code in (302, 303), warm.text[:300]
            csrf = await page_csrf(client, f"/console/tenants/{setup['tenant_id']}/documents")
            cookie = "; ".join(f"{c.name}={c.value}" for c in client.cookies.jar)
            await client.aclose()
            await asyncio.sleep(0.5)
            base_rss = server.rss()
            # App and SDK transfers alternate (ABBA…) so both see the same machine load.
            for i in range(rounds):
                for side in (("app", "sdk") if i % 2 == 0 else ("sdk", "app")):
                    if side == "sdk":
                        say(f"round {i + 1}: {size_mb} MB straight through the SDK…")
                        up, down = await asyncio.to_thread(_direct, settings, size)
                        direct_up.append(up)
                        direct_down.append(down)
                        continue
                    say(f"round {i + 1}: {size_mb} MB up and down through the app…")
                    server.reset_peak()
                    upload_s, location = await asyncio.to_thread(_app_upload, server.base, cookie, csrf,
                                                                 setup["tenant_id"], size)
                    growth.append(server.peak_rss() - base_rss)
                    download_s = await asyncio.to_thread(_app_download, server.base, cookie, location, size)
                    app_up.append(size / upload_s / 1e6)
                    app_down.append(size / download_s / 1e6)
        finally:
            server.stop()
            try:
                await _remove_uploads(settings, setup["tenant_id"])
            except Exception as exc:  # cleanup only; do not hide the benchmark's own error
                say(f"could not remove the uploaded objects: {exc}")
        say("catalog PDF…")
        ref = await registry.get_ref(setup["catalog_tenant"])
        system = Principal(kind="staff", user_id=0, name="bench", roles=frozenset({Role.ARCHIVIST}))
        await catalog_pdf(ref, system, office_name=settings.office_name)  # warm fonts
        started = time.perf_counter()
        pdf = await catalog_pdf(ref, system, office_name=settings.office_name)
        catalog_ms = (time.perf_counter() - started) * 1000
        from documents.upload_stream import PART_SIZE, UPLOAD_PARALLEL

        def ratio(app: list[float], sdk: list[float]) -> float:
            return round(statistics.median(a / d for a, d in zip(app, sdk)), 2)

        return {
            "size_mb": size_mb, "rounds": rounds,
            "upload_mb_s": round(statistics.median(app_up), 1),
            "direct_upload_mb_s": round(statistics.median(direct_up), 1),
            "upload_vs_direct": ratio(app_up, direct_up),
            "download_mb_s": round(statistics.median(app_down), 1),
            "direct_download_mb_s": round(statistics.median(direct_down), 1),
            "download_vs_direct": ratio(app_down, direct_down),
            "upload_peak_rss_mb": round(max(growth) / 1024 / 1024, 1),
            "catalog_docs": catalog_docs, "catalog_pdf_ms": round(catalog_ms), "catalog_pdf_bytes": len(pdf),
            "s3_part_size": PART_SIZE, "s3_parts_in_flight": UPLOAD_PARALLEL, "notes": NOTES,
        }
    finally:
        await db.close_pool()


def main(settings, *, size_mb: int = 200, catalog_docs: int = 500, rounds: int = 3, progress=None) -> dict:
    """Runs against a scratch database ``<name>_bench_docs`` (created and migrated);
    ``portal bench documents`` has made sure PostgreSQL, Redis and S3 answer."""
    from portal.cli import prepare_database
    from portal.core.s3 import ensure_bucket

    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    name = settings.database_url.rsplit("/", 1)[-1]
    settings = settings.with_(database_url=settings.database_url.rsplit("/", 1)[0] + f"/{name}_bench_docs",
                              s3_bucket=settings.s3_bucket + "-bench", upload_max_mb=max(settings.upload_max_mb,
                                                                                       size_mb + 10))
    ensure_bucket(settings)
    asyncio.run(prepare_database(settings, echo=progress or (lambda _m: None)))
    return asyncio.run(_run(settings, size_mb, catalog_docs, rounds, progress))
