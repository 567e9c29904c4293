"""Password hashing with argon2id, off the event loop and bounded: at most `concurrency` hashes run at once per
process, and when more than `queue` wait, the next caller is told to come back (503) instead of queueing behind a
sign-in flood that would otherwise hold the CPU away from intake.
"""

from __future__ import annotations

import asyncio

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from service.errors import Problem

__all__ = ["MIN_PASSWORD_LENGTH", "Passwords"]

MIN_PASSWORD_LENGTH = 10


class Passwords:
    def __init__(
        self, *, time_cost: int, memory_kib: int, parallelism: int, concurrency: int = 1, queue: int = 16
    ) -> None:
        self._hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism)
        # Verifying against this when the account does not exist keeps the timing of "no such user" and
        # "wrong password" the same, so login cannot be used to discover which emails have accounts.
        self._dummy = self._hasher.hash("no account has this password")
        self._slots = asyncio.Semaphore(concurrency)
        self._queue = queue
        self._waiting = 0

    async def hash(self, password: str) -> str:
        async with self._slot():
            return await asyncio.to_thread(self._hasher.hash, password)

    async def verify(self, stored_hash: str | None, password: str) -> bool:
        async with self._slot():
            return await asyncio.to_thread(self._verify, stored_hash, password)

    def _slot(self) -> _Slot:
        if self._waiting >= self._queue:
            raise Problem.busy("sign-in")
        return _Slot(self)

    def _verify(self, stored_hash: str | None, password: str) -> bool:
        try:
            self._hasher.verify(stored_hash or self._dummy, password)
        except (VerificationError, InvalidHashError):
            return False
        return stored_hash is not None

    def needs_rehash(self, stored_hash: str) -> bool:
        return self._hasher.check_needs_rehash(stored_hash)


class _Slot:
    def __init__(self, owner: Passwords) -> None:
        self.owner = owner

    async def __aenter__(self) -> None:
        self.owner._waiting += 1
        try:
            await self.owner._slots.acquire()
        finally:
            self.owner._waiting -= 1

    async def __aexit__(self, *exc: object) -> None:
        self.owner._slots.release()
