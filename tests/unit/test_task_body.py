"""A tenant task keeps its body for every Celery app: the proxy shared_task
returns resolves to a new task object when another app becomes current (a
test's worker app), and the body set on the first object was lost there
('page_on_duty' object has no attribute 'body', depending on test order)."""

from __future__ import annotations

from celery import Celery
from celery._state import get_current_app

import tasks.worker  # noqa: F401 (declares every task)
from tasks.repairs import dispatch_order, page_on_duty


def test_a_tenant_tasks_body_survives_another_current_app():
    bodies = {task: task.body for task in (page_on_duty, dispatch_order)}
    previous = get_current_app()
    other = Celery("another-app", set_as_current=True)
    try:
        other.set_current()
        other.finalize()
        for task, body in bodies.items():
            assert task._get_current_object().app is other
            assert task.body is body
    finally:
        previous.set_current()
