"""store.ids: ULID-style ids, time-ordered and strictly increasing within a process."""

from __future__ import annotations

import re
import threading
import time

from scanhook.store.ids import new_id

ULID = re.compile(r"^[0-9A-HJKMNP-TV-Z]{26}$")


def test_ids_have_prefix_and_a_ulid() -> None:
    for prefix in ("ep_", "evt_", "dlv_"):
        value = new_id(prefix)
        head, _, tail = value.partition("_")
        assert head + "_" == prefix
        assert ULID.match(tail), value
    assert new_id("ep").startswith("ep_")


def test_ids_are_strictly_increasing_within_a_millisecond() -> None:
    ids = [new_id("dlv_") for _ in range(5000)]
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)


def test_ids_encode_the_time() -> None:
    before = int(time.time() * 1000)
    value = new_id("evt_")[4:]
    after = int(time.time() * 1000)
    alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
    number = 0
    for char in value:
        number = number * 32 + alphabet.index(char)
    assert before <= number >> 80 <= after


def test_ids_from_threads_are_unique() -> None:
    out: list[list[str]] = [[] for _ in range(4)]

    def make(slot: list[str]) -> None:
        slot.extend(new_id("ep_") for _ in range(2000))

    threads = [threading.Thread(target=make, args=(slot,)) for slot in out]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    merged = [i for slot in out for i in slot]
    assert len(set(merged)) == len(merged)
    for slot in out:
        assert slot == sorted(slot)
