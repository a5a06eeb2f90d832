"""Entry point for ``celery -A tasks.worker``: settings from the environment."""

from portal.core import jobs
from portal.core.settings import load_settings
from tasks.celery_app import make_celery, sender

app = make_celery(load_settings())
# Tasks that change data hand follow-up tasks to on_commit as well.
jobs.use_sender(sender(app))
