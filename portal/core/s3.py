"""The S3 client factory: one place that builds a minio client from settings."""

from __future__ import annotations

from portal.core.settings import Settings


def s3_client(settings: Settings, *, secret_key: str | None = None, probe: bool = False):
    """A minio client for the configured endpoint. ``probe`` gives one that fails
    fast (no retries, short timeouts) for health checks."""
    import urllib3
    from minio import Minio

    endpoint = settings.s3_endpoint.split("://", 1)[-1].rstrip("/")
    http_client = None
    if probe:
        http_client = urllib3.PoolManager(
            timeout=urllib3.Timeout(connect=2.0, read=5.0),
            retries=urllib3.Retry(total=0, redirect=0),
        )
    return Minio(
        endpoint,
        access_key=settings.s3_access_key,
        secret_key=settings.s3_secret_key if secret_key is None else secret_key,
        secure=settings.s3_secure,
        http_client=http_client,
    )
