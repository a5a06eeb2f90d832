"""The S3 client factory: one place that builds a minio client from settings,
and the archive bucket's setup (object lock and versioning)."""

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


def ensure_bucket(settings: Settings, client=None) -> bool:
    """Make sure ``settings.s3_bucket`` exists with object lock and versioning.

    Creates it with object lock (which also turns versioning on) if missing,
    enables versioning if it is off, and enables object lock on an existing
    bucket that lacks it (S3/SeaweedFS allow that once versioning is on).
    No default retention rule is set here. Returns True if the bucket was created.
    """
    from minio.error import S3Error
    from minio.objectlockconfig import ObjectLockConfig
    from minio.versioningconfig import ENABLED, VersioningConfig

    client = client or s3_client(settings)
    bucket = settings.s3_bucket
    created = False
    if not client.bucket_exists(bucket):
        try:
            client.make_bucket(bucket, object_lock=True)
            created = True
        except S3Error as exc:
            if exc.code not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                raise
    if client.get_bucket_versioning(bucket).status != ENABLED:
        client.set_bucket_versioning(bucket, VersioningConfig(ENABLED))
    try:
        client.get_object_lock_config(bucket)
    except S3Error as exc:
        if exc.code != "ObjectLockConfigurationNotFoundError":
            raise
        client.set_object_lock_config(bucket, ObjectLockConfig(None, None, None))
    return created
