"""Background work (Celery): tasks take ids and call the same services as the web."""
