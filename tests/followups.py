"""Catching the follow-up tasks a block would send to the broker (portal.core.jobs),
so a test sees them and no worker that the session runs picks them up."""

from __future__ import annotations

import contextlib

from portal.core import jobs


@contextlib.contextmanager
def sent_tasks(with_options: bool = False):
    """The follow-ups sent while the block runs, as (name, args) or, with
    ``with_options``, (name, args, options); the app's sender is put back after."""
    sent: list[tuple] = []
    previous = jobs._sender
    jobs.use_sender(lambda name, args, kwargs, options: sent.append(
        (name, args, options) if with_options else (name, args)))
    try:
        yield sent
    finally:
        jobs.use_sender(previous)
