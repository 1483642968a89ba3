"""Endpoint secrets at rest: AES-256-GCM with a key ring, and the key file of a SQLite database.

A key is 32 random bytes written in URL-safe base64 (43 characters, ``scanhook secrets
generate-key``). A key ring is one or more keys separated by commas (``SCANHOOK_SECRET_KEY`` or
the key file): the first encrypts, every one decrypts. A sealed value names the key that sealed
it, ``enc:v1:<key id>:<base64 of nonce, ciphertext and tag>``, so that during a key rotation
processes holding both keys read values sealed with either, and ``scanhook secrets rotate-key``
knows which values still need sealing again. Each value is bound to where it is stored (the
endpoint and the field, as associated data): a sealed value copied into another endpoint or
field does not open.

Engines of a store are bound to its key ring (:func:`bind`), and the transaction bodies find it
from their connection (:func:`keys_of`), so that no operation's signature carries the key.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import os
import secrets
import tempfile
import weakref
from collections.abc import Callable, Sequence
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import Engine
from sqlalchemy.engine import Connection

from scanhook.errors import ConfigurationError, DatabaseError

__all__ = [
    "KEY_SETTING",
    "KeyRing",
    "SecretKeyError",
    "bind",
    "generate_key",
    "key_file_of",
    "keys_of",
    "load_key_file",
    "write_key_file",
]

#: The setting that holds the key ring.
KEY_SETTING = "SCANHOOK_SECRET_KEY"
_PREFIX = "enc:v1:"
_NONCE = 12


class SecretKeyError(DatabaseError):
    """An endpoint secret could not be decrypted with the configured key."""


def generate_key() -> str:
    """A new random key, in the form ``SCANHOOK_SECRET_KEY`` takes."""
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode("ascii").rstrip("=")


def _key_id(key: bytes) -> str:
    return hashlib.sha256(b"scanhook secret key id\x00" + key).hexdigest()[:8]


def _parse_key(text: str, where: str) -> bytes:
    try:
        key = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        key = b""
    if len(key) != 32 or not text.isascii():
        # Never repeat the text: it is (meant to be) a key.
        raise ConfigurationError(
            f"{where}: each key must be 32 bytes in URL-safe base64 (43 characters);"
            " make one with `scanhook secrets generate-key`"
        )
    return key


class KeyRing:
    """AES-256-GCM keys: the first seals, every one opens."""

    def __init__(self, keys: Sequence[bytes], source: str) -> None:
        if not keys:
            raise ConfigurationError(f"{source}: no key")
        self.source = source
        self._ciphers = {_key_id(key): AESGCM(key) for key in keys}
        self.primary = _key_id(keys[0])

    @classmethod
    def parse(cls, text: str, source: str = KEY_SETTING) -> KeyRing:
        """A ring from ``key1,key2,…`` (white space around keys is ignored)."""
        parts = [part.strip() for part in text.replace("\n", ",").split(",")]
        return cls([_parse_key(part, source) for part in parts if part], source)

    @property
    def key_ids(self) -> tuple[str, ...]:
        return tuple(self._ciphers)

    def seal(self, plaintext: str, where: str) -> str:
        """``plaintext`` encrypted with the first key, bound to ``where``."""
        nonce = os.urandom(_NONCE)
        sealed = self._ciphers[self.primary].encrypt(
            nonce, plaintext.encode("utf-8"), where.encode("utf-8")
        )
        data = base64.urlsafe_b64encode(nonce + sealed).decode("ascii").rstrip("=")
        return f"{_PREFIX}{self.primary}:{data}"

    def open(self, sealed: str, where: str) -> str:
        """The plaintext of a value :meth:`seal` made for ``where``; SecretKeyError when no key
        of the ring sealed it or it was changed."""
        key_id, data = _split(sealed, where)
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            raise SecretKeyError(
                f"{where}: sealed with key {key_id}, which {self.source} does not hold (it holds"
                f" {', '.join(self._ciphers)}); give the key it was sealed with"
            )
        raw = base64.urlsafe_b64decode(data + "=" * (-len(data) % 4))
        try:
            plain = cipher.decrypt(raw[:_NONCE], raw[_NONCE:], where.encode("utf-8"))
        except InvalidTag:
            raise SecretKeyError(f"{where}: the sealed value does not open (changed?)") from None
        return plain.decode("utf-8")

    def is_current(self, sealed: str) -> bool:
        """Whether ``sealed`` was sealed with the first key (a rotation leaves it as it is)."""
        return sealed.startswith(f"{_PREFIX}{self.primary}:")


def _split(sealed: str, where: str) -> tuple[str, str]:
    if not isinstance(sealed, str) or not sealed.startswith(_PREFIX):
        raise SecretKeyError(f"{where}: the stored value is not sealed")
    key_id, _, data = sealed[len(_PREFIX) :].partition(":")
    return key_id, data


# -- the key file of a SQLite database ---------------------------------------------------------
def key_file_of(db_path: str) -> Path:
    """The key file beside a SQLite database: ``<database>.key``."""
    return Path(f"{db_path}.key")


def write_key_file(path: Path, keys: Sequence[str]) -> None:
    """Replace ``path`` at once (rename) with ``keys``, one a line, readable by the owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(prefix=".scanhook-key-", dir=path.parent)
    try:
        with os.fdopen(descriptor, "w", encoding="ascii") as handle:  # mkstemp: mode 0600
            handle.write("\n".join(keys) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def load_key_file(path: Path) -> KeyRing:
    """The ring in ``path``; made with a new key (owner-only) when there is none yet. Two
    processes starting at once end up with the same key: the file appears whole or not at all
    (a hard link of a complete temporary file), and the one that loses reads the winner's."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(prefix=".scanhook-key-", dir=path.parent)
        try:
            with os.fdopen(descriptor, "w", encoding="ascii") as handle:
                handle.write(generate_key() + "\n")
                handle.flush()
                os.fsync(handle.fileno())
            with contextlib.suppress(FileExistsError):  # another process made it first
                os.link(temporary, path)
        finally:
            Path(temporary).unlink(missing_ok=True)
    try:
        text = path.read_text(encoding="ascii")
    except OSError as exc:
        raise ConfigurationError(f"the key file {path}: cannot read it ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise ConfigurationError(f"the key file {path}: not a key file") from None
    return KeyRing.parse(text, f"the key file {path}")


# -- which ring a connection's transaction uses ------------------------------------------------
_RINGS: weakref.WeakKeyDictionary[Engine, Callable[[], KeyRing]] = weakref.WeakKeyDictionary()


def bind(engine: Engine, ring: Callable[[], KeyRing]) -> None:
    """Transactions on ``engine`` seal and open with ``ring()`` (called when first needed)."""
    _RINGS[engine] = ring


def keys_of(connection: Connection) -> KeyRing:
    """The key ring of the store whose engine ``connection`` belongs to."""
    ring = _RINGS.get(connection.engine)
    if ring is None:
        raise ConfigurationError(
            f"no secret key for this database: set {KEY_SETTING} (scanhook secrets generate-key)"
        )
    return ring()
