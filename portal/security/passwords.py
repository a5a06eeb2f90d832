"""Argon2 password hashing and the password rules."""

from __future__ import annotations

import asyncio

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MIN_LENGTH = 12
_hasher = PasswordHasher()  # argon2id, library defaults (RFC 9106 low-memory profile)
# A dummy hash verified for unknown users so timing does not reveal which names exist.
_DUMMY_HASH = _hasher.hash("not-a-real-password-0000")

_COMMON = {
    "password1234", "123456789012", "qwertyuiop12", "passwordpassword", "iloveyou1234",
    "admin1234567", "welcome12345", "111111111111", "abcdefghijkl", "000000000000",
}


def _verify(stored_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(stored_hash or _DUMMY_HASH, password) and bool(stored_hash)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


# Argon2 takes ~100 ms of CPU on purpose: run it in a worker thread so one
# sign-in does not stall every other request on the event loop.
async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_hasher.hash, password)


async def verify_password(stored_hash: str | None, password: str) -> bool:
    return await asyncio.to_thread(_verify, stored_hash, password)


def needs_rehash(stored_hash: str) -> bool:
    return _hasher.check_needs_rehash(stored_hash)


def password_problems(password: str, username: str = "", display_name: str = "") -> list[str]:
    """English message ids (translated by the UI) for each rule the password breaks."""
    problems = []
    if len(password) < MIN_LENGTH:
        problems.append("The password must be at least 12 characters long.")
    lowered = password.lower()
    for name in (username, display_name):
        if name and len(name) >= 3 and name.lower() in lowered:
            problems.append("The password must not contain your user name.")
            break
    if lowered in _COMMON or len(set(password)) < 4:
        problems.append("The password is too easy to guess.")
    return problems
