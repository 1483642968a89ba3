"""Ids: a prefix and a ULID (48-bit millisecond time, 80 random bits, Crockford base32).

Ids made by one process are strictly increasing, also within one millisecond and when the clock
steps back: the random part of the previous id is incremented instead of drawn anew.
"""

from __future__ import annotations

import secrets
import threading
import time

__all__ = ["new_id"]

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_RANDOM_BITS = 80
_lock = threading.Lock()
_last_ms = 0
_last_random = 0


def _encode(value: int) -> str:
    chars = []
    for _ in range(26):
        chars.append(_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def _next_value() -> int:
    global _last_ms, _last_random
    with _lock:
        now_ms = time.time_ns() // 1_000_000
        if now_ms > _last_ms:
            _last_ms = now_ms
            # One bit of head room, so increments within a millisecond practically never carry.
            _last_random = secrets.randbits(_RANDOM_BITS - 1)
        else:
            _last_random += 1
            if _last_random >> _RANDOM_BITS:
                _last_ms += 1
                _last_random = secrets.randbits(_RANDOM_BITS - 1)
        return (_last_ms << _RANDOM_BITS) | _last_random


def new_id(prefix: str) -> str:
    """A new id such as ``ep_01JD3Q…``; ``prefix`` may be given with or without its ``_``."""
    if not prefix.endswith("_"):
        prefix += "_"
    return prefix + _encode(_next_value())
