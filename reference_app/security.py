"""Password hashing and signed bearer tokens.

Passwords: Argon2id at OWASP's minimum recommended cost (m = 19 MiB, t = 2, p = 1). The library's
default (64 MiB, p = 4) would make a burst of operator logins cost hundreds of MiB and both cores,
which in a 512 MiB profile measures the password hash rather than the JXC system.

Memory: every verification allocates its 19 MiB with malloc. glibc raises its mmap threshold to
the size of a freed mmapped block (up to 32 MiB), so from the second login on those blocks come from
the heap of the calling thread's arena and stay there: with the app's worker threads, a shift of
logins left ~930 MiB resident in one process (measured: 360 verifications in 40 threads; 16 MiB with
a fixed threshold) and the kernel's OOM killer took the app of a 512 MiB profile while its staff
logged in. A fixed threshold (``mallopt(M_MMAP_THRESHOLD, 1 MiB)``, which also turns the raising
off) gives every such block back to the system when it is freed.

Tokens: HS256 JWTs carrying the operator's id, role and team, so that per-request authorisation
needs no database round trip; they expire (``exp``) and are checked for signature and expiry.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_M_MMAP_THRESHOLD = -3  # glibc's malloc.h
_FIXED_MMAP_THRESHOLD = 1 << 20


def _give_hash_memory_back() -> bool:
    """Fix glibc's mmap threshold (see the module docstring); False where there is no glibc."""
    import ctypes

    # the process's own symbols (libc among them): find_library would run ldconfig at every start
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    return mallopt(_M_MMAP_THRESHOLD, _FIXED_MMAP_THRESHOLD) == 1


HASH_MEMORY_RETURNED = _give_hash_memory_back()
_HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
_ALGORITHM = "HS256"
DEFAULT_TOKEN_TTL = dt.timedelta(hours=8)


class InvalidToken(Exception):
    """Missing, malformed, badly signed or expired token."""


@dataclass(frozen=True)
class TokenClaims:
    operator_id: int
    role: str
    team: str | None


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def create_token(secret: str, claims: TokenClaims, ttl: dt.timedelta = DEFAULT_TOKEN_TTL) -> str:
    now = dt.datetime.now(dt.UTC)
    payload = {
        "sub": str(claims.operator_id),
        "role": claims.role,
        "team": claims.team,
        "iat": now,
        "exp": now + ttl,
    }
    return jwt.encode(payload, secret, algorithm=_ALGORITHM)


def decode_token(secret: str, token: str) -> TokenClaims:
    try:
        payload = jwt.decode(token, secret, algorithms=[_ALGORITHM], options={"require": ["exp", "sub"]})
        return TokenClaims(operator_id=int(payload["sub"]), role=str(payload["role"]), team=payload.get("team"))
    except (jwt.PyJWTError, KeyError, ValueError, TypeError) as exc:
        raise InvalidToken(str(exc)) from exc


__all__ = [
    "InvalidToken", "TokenClaims", "hash_password", "verify_password", "create_token", "decode_token",
    "DEFAULT_TOKEN_TTL",
]
