"""Entry point for ``celery -A tasks.worker``: settings from the environment."""

from portal.core.settings import load_settings
from tasks.celery_app import make_celery

app = make_celery(load_settings())
