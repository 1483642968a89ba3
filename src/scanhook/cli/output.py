"""Where the commands write: Rich consoles for people, raw bytes for pipes."""

from __future__ import annotations

import os
import sys

from rich.console import Console

__all__ = ["err", "out", "write_bytes"]

#: Results, for people and for ``grep``: no wrapping, no guessed highlighting.
out = Console(soft_wrap=True, highlight=False)
#: Problems with the command itself (unreadable file, bad option).
err = Console(stderr=True, soft_wrap=True, highlight=False)


def write_bytes(data: bytes) -> bool:
    """Write ``data`` to stdout as is; False when the reader has gone (``| head``)."""
    try:
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    except BrokenPipeError:
        # Python would complain again when it flushes stdout at exit; point it at nothing.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return False
    return True
