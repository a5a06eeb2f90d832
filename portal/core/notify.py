"""The notification outlet: e-mail and the outbound webhook for an SMS/WeChat
gateway, each delivery sent at most once per delivery key.

Domains build ``Notice`` values (who, which channel, the localized text) in a
task that runs after their transaction commits; ``deliver`` sends them. The
webhook (``PORTAL_NOTIFY_WEBHOOK_URL``; off when empty) gets a JSON POST::

    {"kind": "repair.urgent", "archive_no": "...", "recipient": {"role": "technician",
     "name": "...", "phone": ""}, "text": "...", "delivery": "<key>"}

signed, when ``PORTAL_NOTIFY_WEBHOOK_SECRET`` is set, with
``X-Portal-Signature: sha256=<hex HMAC-SHA256 of the body>``. The gateway
itself (SMS, WeChat) is outside this machine.

Delivery keys live in Redis (``SET NX`` with a TTL), not in a core table: a
key only has to outlive the redeliveries of one task (minutes, at most hours
of retries), Redis expires it by itself, the claim is one atomic command, and
no migration or purge hook is needed. A key is claimed ('pending', short TTL)
before sending and becomes 'sent' (30 days) after; a failed attempt drops the
claim so the task's retry sends it again. A worker killed between the send and
the mark may send once more after the claim expires (two minutes): the gateway
can drop such repeats by the ``delivery`` field / ``X-Portal-Delivery`` header.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import urllib.error
import urllib.request
from dataclasses import dataclass

from redis.asyncio import Redis

from portal.core import mail

log = logging.getLogger(__name__)

TIMEOUT = 10  # seconds for one webhook POST
CLAIM_TTL = 120  # seconds a delivery stays claimed while being sent
SENT_TTL = 30 * 86400  # seconds a sent delivery key is remembered
CHANNELS = ("mail", "webhook")


@dataclass(frozen=True)
class Notice:
    """One message to one person on one channel. ``who`` is a stable id of the
    recipient within the event (e.g. 'staff:12', 'contact:3'); ``address`` is
    the e-mail address (mail) or the phone, possibly empty (webhook)."""

    channel: str
    role: str
    who: str
    name: str
    address: str
    subject: str
    text: str


def webhook_body(kind: str, archive_no: str, notice: Notice, key: str) -> bytes:
    return json.dumps({"kind": kind, "archive_no": archive_no,
                       "recipient": {"role": notice.role, "name": notice.name, "phone": notice.address},
                       "text": notice.text, "delivery": key}, ensure_ascii=False, sort_keys=True).encode()


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def post(settings, body: bytes, key: str) -> str:
    """POST one body to the webhook: '' when accepted (2xx), 'rejected' (4xx:
    retrying will not help), 'unreachable' (anything else)."""
    headers = {"Content-Type": "application/json; charset=utf-8", "X-Portal-Delivery": key}
    if settings.notify_webhook_secret:
        headers["X-Portal-Signature"] = signature(settings.notify_webhook_secret, body)
    request = urllib.request.Request(settings.notify_webhook_url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:  # noqa: S310 (configured URL)
            return "" if 200 <= response.status < 300 else "unreachable"
    except urllib.error.HTTPError as exc:
        log.warning("notification webhook answered %s", exc.code)
        return "rejected" if 400 <= exc.code < 500 and exc.code != 429 else "unreachable"
    except (OSError, ValueError) as exc:
        log.warning("notification webhook unreachable: %s", exc)
        return "unreachable"


async def _once(redis: Redis, key: str, send) -> str:
    """Send unless the key was claimed or sent: 'sent', 'already', 'rejected' or 'failed'."""
    name = f"notify:{key}"
    if not await redis.set(name, "pending", nx=True, ex=CLAIM_TTL):
        return "already"
    try:
        reason = await send()
    except BaseException:
        await redis.delete(name)
        raise
    if reason == "unreachable":
        await redis.delete(name)
        return "failed"
    await redis.set(name, reason or "sent", ex=SENT_TTL)
    return reason or "sent"


async def deliver(settings, kind: str, archive_no: str, key: str, notices: list[Notice],
                  sender_name: str = "") -> dict[str, int]:
    """Send each notice once under ``key:channel:who``; returns counts by
    outcome ('sent', 'already', 'rejected', 'failed', 'off'). The caller
    retries while 'failed' is non-zero (sent ones are skipped then)."""
    counts = {"sent": 0, "already": 0, "rejected": 0, "failed": 0, "off": 0}
    if not notices:
        return counts
    redis = Redis.from_url(settings.redis_url)
    mailer = mail.Mailer(settings)
    try:
        for notice in notices:
            if notice.channel == "webhook" and not settings.notify_webhook_url:
                counts["off"] += 1
                continue
            if notice.channel == "mail" and "@" not in notice.address:
                counts["off"] += 1
                continue
            full = f"{key}:{notice.channel}:{notice.who}"
            if notice.channel == "mail":
                msg = mail.message(settings, [(notice.name, notice.address)], notice.subject, notice.text,
                                   sender_name=sender_name)

                async def send(msg=msg) -> str:
                    return await mailer.asend(msg)
            else:
                body = webhook_body(kind, archive_no, notice, full)

                async def send(body=body, full=full) -> str:
                    return await asyncio.to_thread(post, settings, body, full)
            counts[await _once(redis, full, send)] += 1
    finally:
        await mailer.aclose()
        await redis.aclose()
    return counts
