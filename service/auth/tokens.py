"""Random bearer tokens. Only their SHA-256 is stored; lookups go by hash and are confirmed in constant time.

Tokens carry 256 bits of randomness, so a fast hash is enough: nobody can brute-force a preimage, and a
database leak yields nothing usable.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

__all__ = ["hash_token", "new_token", "tokens_match", "looks_like_token"]

_TOKEN_BYTES = 32
_TOKEN_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def new_token() -> tuple[str, bytes]:
    token = secrets.token_urlsafe(_TOKEN_BYTES)
    return token, hash_token(token)


def hash_token(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def tokens_match(stored_hash: bytes, token: str) -> bool:
    return hmac.compare_digest(stored_hash, hash_token(token))


def looks_like_token(value: str) -> bool:
    """Cheap shape check before any database lookup (43 url-safe base64 characters)."""
    return len(value) == 43 and all(c in _TOKEN_CHARS for c in value)
