"""Sign-in throttling: after N failures for one account (or from one address)
within the lockout window, further attempts are refused until it passes."""

from __future__ import annotations

from redis.asyncio import Redis


class LoginThrottle:
    def __init__(self, redis: Redis, max_failures: int, lockout_seconds: int):
        self.redis = redis
        self.max_failures = max_failures
        self.lockout_seconds = lockout_seconds

    @staticmethod
    def _keys(kind: str, username: str, ip: str) -> tuple[str, str]:
        return f"loginfail:{kind}:user:{username.lower()}", f"loginfail:{kind}:ip:{ip}"

    async def locked_for(self, kind: str, username: str, ip: str) -> int:
        """Seconds left of a lockout, 0 if sign-in may be tried."""
        user_key, ip_key = self._keys(kind, username, ip)
        user_fails, ip_fails = await self.redis.mget(user_key, ip_key)
        if int(user_fails or 0) >= self.max_failures:
            return max(1, await self.redis.ttl(user_key))
        # An address gets more room than one account (offices share NAT).
        if int(ip_fails or 0) >= self.max_failures * 4:
            return max(1, await self.redis.ttl(ip_key))
        return 0

    async def record_failure(self, kind: str, username: str, ip: str) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            for key in self._keys(kind, username, ip):
                pipe.incr(key)
                pipe.expire(key, self.lockout_seconds)
            await pipe.execute()

    async def reset(self, kind: str, username: str) -> None:
        await self.redis.delete(self._keys(kind, username, "")[0])
