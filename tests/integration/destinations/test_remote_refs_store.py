"""The store keeps remote ids per (endpoint, correlation key) and attention notes per attempt,
on SQLite and on PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from engine_support import hub_on


async def test_remote_ref_is_stored_per_endpoint_and_key_and_replaced_by_a_newer_create(
    tmp_path: Path,
) -> None:
    async with hub_on(tmp_path) as hub:
        store = hub.store
        assert await store.get_remote_ref("ep_a", "ticket/1") is None
        await store.put_remote_ref("ep_a", "ticket/1", "SEC-1", "dlv_1", 10.0)
        await store.put_remote_ref("ep_b", "ticket/1", "abc123", "dlv_2", 11.0)
        assert await store.get_remote_ref("ep_a", "ticket/1") == "SEC-1"
        assert await store.get_remote_ref("ep_b", "ticket/1") == "abc123"
        assert await store.get_remote_ref("ep_a", "ticket/2") is None
        # A ticket reopened and created again: the newest record is the one to close.
        await store.put_remote_ref("ep_a", "ticket/1", "SEC-7", "dlv_3", 12.0)
        assert await store.get_remote_ref("ep_a", "ticket/1") == "SEC-7"


async def test_attention_notes_by_delivery_and_attempt(tmp_path: Path) -> None:
    async with hub_on(tmp_path) as hub:
        store = hub.store
        assert await store.attention_notes([]) == {}
        await store.note_attention("dlv_1", 1, "first", 1.0)
        await store.note_attention("dlv_1", 2, "second", 2.0)
        await store.note_attention("dlv_1", 2, "second, again", 3.0)  # the same attempt
        await store.note_attention("dlv_2", 1, "other", 1.0)
        notes = await store.attention_notes(["dlv_1", "dlv_3"])
        assert notes == {"dlv_1": {1: "first", 2: "second, again"}}
