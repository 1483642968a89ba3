"""The receiver of ``scanhook listen`` against hostile requests, on a real loopback port: what
it prints carries no terminal control from the request, and what it keeps is bounded."""

from __future__ import annotations

import asyncio
import io
import json
import re

import aiohttp
from rich.console import Console

from scanhook.cli.listen import describe
from scanhook.receiver.app import Received, Receiver, ReceiverOptions
from scanhook.receiver.printable import json_line

#: ESC sequences (colour, window title, cursor up + erase line), the one-byte CSI, DEL, a bidi
#: override and isolate, a line separator, a bell and a newline that would fake a second line.
HOSTILE = (
    "Daily\x1b[2J\x1b]0;pwned\x07\x1b[1A\x1b[2K\x9b31m\x7f\u202eSELIF\u2066\u2028\n"
    "12:00:00  ✓ signed  → 200  fake"
)
#: What must not reach a terminal from the request.
UNSAFE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069"
    "\ud800-\udfff]"
)


def _render(received: Received) -> str:
    console = Console(file=io.StringIO(), soft_wrap=True, highlight=False, force_terminal=True)
    console.print(describe(received))
    output = console.file.getvalue()  # type: ignore[attr-defined]
    # Rich's own styling is ESC [ … m; drop exactly those, so what is left is the request's.
    return re.sub(r"\x1b\[[0-9;]*m", "", output)


async def _post(url: str, body: bytes, headers: dict[str, str] | None = None) -> int:
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, data=io.BytesIO(body), headers=headers or {}) as response,
    ):
        return response.status


async def _post_raw(port: int, body: bytes, headers: dict[str, bytes]) -> int:
    """A POST written byte by byte (clients refuse control characters in header values; a
    hostile sender does not)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head = b"POST /hooks HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
    head += b"".join(name.encode() + b": " + value + b"\r\n" for name, value in headers.items())
    head += b"Content-Length: %d\r\n\r\n" % len(body)
    writer.write(head + body)
    status_line = await reader.readline()
    writer.close()
    await writer.wait_closed()
    return int(status_line.split()[1])


async def test_printed_lines_escape_every_terminal_control_from_body_and_headers() -> None:
    got: list[Received] = []
    scan = {"finished_scan": {"name": HOSTILE, "type": "network", "status": "Completed"}}
    async with Receiver(ReceiverOptions(), got.append) as receiver:
        status = await _post_raw(
            receiver.port,
            json.dumps(scan, ensure_ascii=False).encode(),
            {
                # (aiohttp refuses C0 controls in a header; the rest passes as obs-text)
                "webhook-id": b"msg_\x9b2J\xc2\x9b2J",
                "scanhook-event-type": "finished_scan\u202e".encode(),
            },
        )
        text_status = await _post(receiver.url, HOSTILE.encode() * 40)  # not JSON: a snippet
    assert (status, text_status) == (200, 200)
    named, snippet = (_render(r) for r in got)

    for line in (named, snippet):
        assert not UNSAFE.search(line), repr(line)
        assert line.count("\n") == 1  # one line each: no request text starts a new one
    assert "Daily\\x1b[2J\\x1b]0;pwned\\x07" in named  # shown, inert
    assert "\\u202eSELIF" in named
    assert "finished_scan\\u202e" in named
    assert "[msg_\\udc9b2J\\x9b2J attempt ?]" in named  # undecodable bytes, C1: shown
    assert len(snippet) < 1000  # a 4 KB body prints as a bounded snippet


async def test_json_lines_escape_controls_and_read_back_unchanged() -> None:
    got: list[Received] = []
    scan = {"finished_scan": {"name": HOSTILE}}
    async with Receiver(ReceiverOptions(), got.append) as receiver:
        await _post(receiver.url, json.dumps(scan, ensure_ascii=False).encode())
    line = json_line(got[0].as_json())
    assert not UNSAFE.search(line), repr(line)
    assert "\n" not in line
    assert json.loads(line)["payload"] == scan  # the same value for a script
    assert "é" in json_line({"name": "Réseau"})  # readable text stays readable


async def test_the_receiver_keeps_only_the_latest_requests_within_its_byte_budget() -> None:
    options = ReceiverOptions(keep=3, keep_bytes=3 * 1024 * 1024)
    async with Receiver(options) as receiver:
        for number in range(10):
            await _post(receiver.url, json.dumps({"n": number}).encode())
        assert [r.payload["n"] for r in receiver.received] == [7, 8, 9]

        megabyte = b"x" * (1024 * 1024 + 1)
        for _ in range(4):
            await _post(receiver.url, megabyte)
        # four bodies of just over 1 MiB: only two fit in 3 MiB together
        assert [len(r.body) for r in receiver.received] == [len(megabyte)] * 2
        assert receiver.total == 14
        assert receiver.counts["unchecked"] == 14


async def test_listen_keeps_no_body_after_printing_it() -> None:
    printed: list[str] = []
    # The options `scanhook listen` uses: print each request, keep only the counts.
    options = ReceiverOptions(keep=0, keep_bytes=0)
    async with Receiver(options, lambda r: printed.append(_render(r))) as receiver:
        for _ in range(5):
            await _post(receiver.url, b"{}" + b" " * 100_000)
        assert len(receiver.received) == 0
        assert (receiver.total, len(printed)) == (5, 5)
