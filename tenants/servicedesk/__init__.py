"""The service desk: repairs (work orders dispatched by Celery, with SLA clocks)."""
