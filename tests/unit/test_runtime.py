"""portal.devservices: start SeaweedFS (weed mini) on free ports, use it, stop it.

PostgreSQL and Redis are left to the services already running on the machine:
they are only checked (never started) here.
"""

from __future__ import annotations

import io
import os
import random
import socket

import pytest
from minio.error import S3Error
from minio.versioningconfig import ENABLED

from portal.core.s3 import ensure_bucket, s3_client
from portal.devservices import LocalServices, ServiceError
from portal.devservices.probes import port_free, postgres_endpoint, redis_endpoint, tcp_open
from portal.devservices.seaweed import all_weed_ports, weed_ports
from portal.core.settings import Settings


def free_s3_port() -> int:
    """A port P such that weed mini's P..P+4 and their +10000 twins are all free."""
    rng = random.Random()
    for _ in range(200):
        port = rng.randrange(20000, 45000)
        if all(port_free("127.0.0.1", p) for p in all_weed_ports(weed_ports(port))):
            return port
    raise RuntimeError("no free port range for weed mini")


def test_weed_mini_lifecycle(tmp_path, capfd):
    port = free_s3_port()
    settings = Settings(
        env="test",
        data_dir=str(tmp_path / "data"),
        s3_endpoint=f"127.0.0.1:{port}",
        s3_access_key="test-access",
        s3_secret_key="test-secret-0123456789",
        s3_bucket="runtime-test",
    )
    pg_up = tcp_open(postgres_endpoint(settings))
    redis_up = tcp_open(redis_endpoint(settings))

    services = LocalServices(settings, postgres=pg_up, redis=redis_up)
    with services:
        lines = services.report
        pid = services.pid("s3")
        assert pid is not None
        assert f"S3 127.0.0.1:{port}: started SeaweedFS (pid {pid})" in lines
        if pg_up:
            assert "PostgreSQL 127.0.0.1:5432: using running server" in lines
        if redis_up:
            assert "Redis 127.0.0.1:6379: using running server" in lines
        assert services.pid("postgres") is None and services.pid("redis") is None
        assert (tmp_path / "data" / "s3" / "weed.log").exists()

        # Bucket with object lock + versioning, idempotent.
        assert ensure_bucket(settings) is True
        assert ensure_bucket(settings) is False
        client = s3_client(settings)
        assert client.get_bucket_versioning(settings.s3_bucket).status == ENABLED
        client.get_object_lock_config(settings.s3_bucket)  # raises if object lock is off

        body = "租户档案 test".encode()
        put = client.put_object(settings.s3_bucket, "t/1.txt", io.BytesIO(body), len(body))
        assert put.version_id
        response = client.get_object(settings.s3_bucket, "t/1.txt")
        try:
            assert response.read() == body
        finally:
            response.close()
            response.release_conn()

        # Wrong keys are refused, by the server and by the health check.
        with pytest.raises(S3Error) as info:
            s3_client(settings, secret_key="not-the-secret", probe=True).list_buckets()
        assert info.value.code == "SignatureDoesNotMatch"
        with pytest.raises(ServiceError, match="refuses the configured keys"):
            LocalServices(settings.with_(s3_secret_key="wrong"), postgres=False, redis=False).start()

        # A second LocalServices sees the running server and starts nothing.
        again = LocalServices(settings, postgres=False, redis=False)
        assert again.start() == [f"S3 127.0.0.1:{port}: using running server"]
        assert again.started == []
        again.stop()
        assert tcp_open(services.started[0].endpoint)

    assert services.started == []
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    with socket.socket() as sock:
        assert sock.connect_ex(("127.0.0.1", port)) != 0

    out, err = capfd.readouterr()
    assert out == "" and err == ""
