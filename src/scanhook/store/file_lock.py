"""An exclusive OS lock on a file (``flock``), taken without waiting and held until released.

The kernel drops the lock the moment its holder's process ends, however it ends (``kill -9``
too), so holding it proves that no other live process holds it.
"""

from __future__ import annotations

import contextlib
import fcntl
import os

__all__ = ["FileLock"]


class FileLock:
    """The lock on ``path`` (created when missing; it holds the holder's pid, for people)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def try_acquire(self) -> bool:
        """True when this object holds the lock (now or already); False when another holds it.
        OSError when the file cannot be opened."""
        if self._fd is not None:
            return True
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        except BaseException:
            os.close(fd)
            raise
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        return True

    def holder(self) -> str:
        """What the file says about its holder (its pid), for a message; '' when unknown."""
        try:
            with open(self.path, encoding="ascii", errors="replace") as file:
                return file.read(32).strip()
        except OSError:
            return ""

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)  # closing the only descriptor releases the lock
