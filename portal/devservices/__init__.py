"""Development-only process management: local backing services for ``portal up``,
``portal bench ...``, the tests and CI. Product code (the web app, domains, tasks)
never imports this package (``tests/unit/test_layers.py``).

``LocalServices(settings)`` looks at the PostgreSQL, Redis and S3 endpoints named
by ``Settings`` and starts only what is not already answering, under
``settings.data_path``::

    .portal-data/pg/      PostgreSQL cluster (Debian's initdb/pg_ctl), postgresql.log
    .portal-data/redis/   redis-server working dir, redis.log
    .portal-data/s3/      SeaweedFS ``weed mini`` data, weed.log, logs/

``start()`` returns one human-readable line per service (nothing is printed);
``stop()`` stops exactly the processes this object started, and is also run at
interpreter exit. Only loopback endpoints are ever started. A server that answers
on the configured port but refuses the configured credentials is reported as an
error rather than shadowed by a second server.

    probes.py      endpoints from settings, port checks, "is it a usable server?"
    processes.py   child processes: die with us, logs, readiness, group stop
    postgres.py    a local cluster (initdb / pg_ctl)
    seaweed.py     a local S3 (SeaweedFS weed mini)
    services.py    LocalServices: check, start what is missing, stop what we started
    supervisor.py  ``portal up``: web, worker and beat as children that die with it
"""

from portal.devservices.processes import ServiceError
from portal.devservices.services import LocalServices

__all__ = ["LocalServices", "ServiceError"]
