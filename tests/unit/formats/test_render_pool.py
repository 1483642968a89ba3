"""The render pool: templates render in separate processes, killed past their deadline and
limited in memory; the pool replaces a process it lost and serves several threads."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from scanhook.formats import RenderError
from scanhook.formats.render_pool import GRACE, RenderPool

MIB = 1024 * 1024
#: One filter call that runs ~1 s (on an idle 2-CPU machine) in library code, where the
#: sandbox's between-operations deadline check cannot interrupt it.
LONG_CALL = '{{ ("abc "*250000)|wordwrap(1, wrapstring="")|length }}'
#: About 50 MB of small strings: within the output budget, beyond a 32 MiB memory limit.
HUNGRY = (
    '{% set a = ("ab "*300000).split() %}{% set b = ("cd "*300000).split() %}'
    '{% set c = ("ef "*300000).split() %}{{ a|length + b|length + c|length }}'
)


@pytest.fixture
def pool() -> Iterator[RenderPool]:
    pool = RenderPool(size=2)
    try:
        yield pool
    finally:
        pool.close()


def test_a_render_returns_the_body(pool: RenderPool) -> None:
    assert pool.render("{{ who }} ✓", {"who": "åsa"}, 100) == "åsa ✓".encode()
    with pytest.raises(RenderError, match="max_bytes"):
        pool.render("xxxxxxxxxx", {}, 5)
    with pytest.raises(RenderError, match="template failed: UndefinedError"):
        pool.render("{{ nothing.here }}", {}, 100)


def test_a_render_past_its_deadline_is_killed_and_the_pool_recovers(pool: RenderPool) -> None:
    pool.render("", {}, 1)  # the process has started: only the render is timed
    started = time.monotonic()
    with pytest.raises(RenderError) as caught:
        pool.render(LONG_CALL, {}, MIB, seconds=0.05)
    elapsed = time.monotonic() - started
    assert str(caught.value) == (
        "template took longer than its 0.05 s budget (the render was stopped)"
    )
    assert elapsed < 0.05 + GRACE + 1.5  # generous: the message above says it was killed
    assert pool.render("{{ 1 + 1 }}", {}, 100) == b"2"  # a fresh process


def test_a_render_beyond_the_memory_limit_fails_and_the_pool_recovers(pool: RenderPool) -> None:
    small = RenderPool(size=1, memory_limit=32 * MIB)
    try:
        with pytest.raises(RenderError) as caught:
            small.render(HUNGRY, {}, MIB, seconds=10)
        assert str(caught.value) == "template needs more than its memory limit of 32 MiB"
        assert small.render("{{ 'ok' }}", {}, 100) == b"ok"
    finally:
        small.close()
    assert pool.render(HUNGRY, {}, MIB, seconds=10) == b"900000"  # within the default limit


def test_threads_share_the_processes(pool: RenderPool) -> None:
    def one(index: int) -> bytes:
        return pool.render("{{ n * 2 }}", {"n": index}, 100)

    with ThreadPoolExecutor(6) as threads:
        results = list(threads.map(one, range(24)))
    assert results == [str(i * 2).encode() for i in range(24)]
    assert pool._running <= 2


def test_a_closed_pool_refuses() -> None:
    pool = RenderPool(size=1)
    assert pool.render("x", {}, 10) == b"x"
    pool.close()
    with pytest.raises(RenderError, match="render pool is closed"):
        pool.render("x", {}, 10)
