"""Server-side sessions in Redis.

The cookie holds only a random id; Redis holds ``sess:<sha256(id)>`` so a dump
of Redis cannot be replayed as cookies. Idle timeout is the key's TTL (renewed
on use); the absolute timeout is checked against the creation time. "Sign out
everywhere" bumps the user's ``session_epoch`` in the database, which every
older session then fails to match.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from dataclasses import asdict, dataclass

from redis.asyncio import Redis

COOKIE = "portal_session"


@dataclass
class SessionData:
    kind: str  # "staff" | "portal"
    user_id: int
    epoch: int
    created: float
    last_seen: float


def _key(session_id: str) -> str:
    return "sess:" + hashlib.sha256(session_id.encode()).hexdigest()


class SessionStore:
    def __init__(self, redis: Redis, idle_seconds: int, absolute_seconds: int):
        self.redis = redis
        self.idle_seconds = idle_seconds
        self.absolute_seconds = absolute_seconds

    async def create(self, kind: str, user_id: int, epoch: int) -> str:
        """A brand-new id every sign-in (no fixation)."""
        session_id = secrets.token_urlsafe(32)
        now = time.time()
        data = SessionData(kind=kind, user_id=user_id, epoch=epoch, created=now, last_seen=now)
        await self.redis.set(_key(session_id), json.dumps(asdict(data)), ex=self.idle_seconds)
        return session_id

    async def load(self, session_id: str | None) -> SessionData | None:
        if not session_id or len(session_id) > 100:
            return None
        raw = await self.redis.get(_key(session_id))
        if raw is None:
            return None
        data = SessionData(**json.loads(raw))
        now = time.time()
        if now - data.created > self.absolute_seconds:
            await self.destroy(session_id)
            return None
        # Renew the idle timer at most once a minute to keep Redis writes low.
        if now - data.last_seen > 60:
            data.last_seen = now
            await self.redis.set(_key(session_id), json.dumps(asdict(data)), ex=self.idle_seconds)
        return data

    async def destroy(self, session_id: str | None) -> None:
        if session_id:
            await self.redis.delete(_key(session_id))
