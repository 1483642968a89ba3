"""A worker process for test_pg_processes: claims from the database until nothing is left,
holds each lease briefly, records success, and logs what it held and when.

Usage: python claimer.py DATABASE_URL WORKER_NAME LOG_PATH
Log lines: ``<delivery id> <endpoint id> <event id> <held from> <held until>`` (time.time();
the interval lies inside the real lease: taken after the claim returned, ended before the record
began).
"""

from __future__ import annotations

import asyncio
import random
import sys
import time
from pathlib import Path

from scanhook.store import AttemptOutcome, open_store


def _append(path: Path, text: str) -> None:
    with path.open("a") as f:
        f.write(text)


async def main(url: str, name: str, log_path: str) -> None:
    store = open_store(url)
    log = Path(log_path)
    try:
        idle_since: float | None = None
        while True:
            claimed = await store.claim(name, time.time(), 60.0, 3)
            got_at = time.time()
            if not claimed:
                stats = await store.stats(time.time())
                counts = stats["deliveries"]
                assert isinstance(counts, dict)
                if counts["pending"] == 0 and counts["sending"] == 0:
                    return
                idle_since = idle_since or time.time()
                if time.time() - idle_since > 60:
                    raise SystemExit(f"{name}: nothing claimable for 60 s: {counts}")
                await asyncio.sleep(0.003)
                continue
            idle_since = None
            await asyncio.sleep(random.uniform(0.002, 0.010))  # "sending"
            done_at = time.time()
            lines = "".join(
                f"{c.id} {c.endpoint.id} {c.event_id} {got_at!r} {done_at!r}\n" for c in claimed
            )
            await asyncio.to_thread(_append, log, lines)
            await store.record(
                [
                    AttemptOutcome(c.id, c.endpoint.id, c.attempt, done_at, 1.0, True, 200)
                    for c in claimed
                ]
            )
    finally:
        await store.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3]))
