"""The notifications every scenario sends: the same realistic sample mix, encoded once.

Baselines post the exact bytes scanhook would (``encode`` of ``samples("mixed", …)``) with
headers built up front (a unique ``webhook-id`` per request, so the receiver can count, and a
Standard Webhooks signature of the same length as scanhook's), so the baselines measure HTTP
only, not encoding or signing.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from dataclasses import dataclass

from scanhook.notifications import Notification, encode, event_type, samples

__all__ = ["SEED", "Workload", "make_workload"]

SEED = 20260112
_KEY = b"bench-secret-key-0123456789abcdef"


@dataclass(frozen=True)
class Workload:
    """``count`` notifications, their wire bodies and ready-made baseline headers."""

    notifications: list[Notification]
    bodies: list[bytes]
    headers: list[dict[str, str]]

    def __len__(self) -> int:
        return len(self.bodies)


def _headers(index: int, body: bytes, kind: str, now: int) -> dict[str, str]:
    msg_id = f"msg_bench{index:08d}"
    signed = f"{msg_id}.{now}.".encode() + body
    signature = base64.b64encode(hmac.new(_KEY, signed, hashlib.sha256).digest()).decode()
    return {
        "Content-Type": "application/json",
        "Accept": "*/*",
        "webhook-id": msg_id,
        "webhook-timestamp": str(now),
        "webhook-signature": f"v1,{signature}",
        "scanhook-event-type": kind,
        "scanhook-attempt": "1",
    }


def make_workload(count: int, seed: int = SEED) -> Workload:
    """``count`` notifications of the "mixed" kind (tickets most common), deterministic."""
    notifications = samples("mixed", count, seed)
    bodies = [encode(n) for n in notifications]
    now = int(time.time())
    headers = [
        _headers(i, body, event_type(n), now)
        for i, (n, body) in enumerate(zip(notifications, bodies, strict=True))
    ]
    return Workload(notifications, bodies, headers)
