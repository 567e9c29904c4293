"""Sign-in throttling: failed password sign-ins (sessions and Basic alike) counted in PostgreSQL, so every worker
process and every app server sees the same counts.

    before verifying a password   any key over its limit in the window → 429 with Retry-After, nothing hashed
    after a wrong password        every key counts one more failure (a new window starts when the old one is over)
    after a right password        the account's keys are cleared (the address's stays: one good password from an
                                  address guessing many accounts must not reset its count)

Keys: the client address; the account from that address; the account from anywhere (settings.py explains the
limits).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from service.errors import Problem

from . import queries

if TYPE_CHECKING:
    from service.db.pool import Connection
    from service.settings import Settings

__all__ = ["SignInKeys", "check", "failed", "succeeded"]


class SignInKeys:
    def __init__(self, email: str, address: str) -> None:
        account = email.strip().lower()[:320]
        self.address = f"address:{address}"
        self.account = f"account:{account}"
        self.account_address = f"account-address:{account}|{address}"

    def limits(self, settings: Settings) -> dict[str, int]:
        return {
            self.address: settings.sign_in_failures_per_address,
            self.account: settings.sign_in_failures_per_account,
            self.account_address: settings.sign_in_failures_per_account_address,
        }


async def check(conn: Connection, settings: Settings, keys: SignInKeys) -> None:
    limits = keys.limits(settings)
    counts = await queries.sign_in_failures(conn, list(limits), window_s=settings.sign_in_window_s)
    waits = [count.retry_after_s for count in counts if count.failures >= limits[count.key]]
    if waits:
        raise Problem.too_many_attempts(max(1, *waits))


async def failed(conn: Connection, settings: Settings, keys: SignInKeys) -> None:
    await queries.count_sign_in_failure(
        conn, [keys.address, keys.account, keys.account_address], window_s=settings.sign_in_window_s
    )


async def succeeded(conn: Connection, settings: Settings, keys: SignInKeys) -> None:
    await queries.clear_sign_in_failures(conn, [keys.account, keys.account_address], window_s=settings.sign_in_window_s)
