"""Text safe to show people: a database URL without its password.

Every log line and error message that names a database goes through :func:`mask_url`, so that a
``postgresql://user:password@host/db`` setting never shows its password, not even when the URL
is malformed (which is when error messages repeat it).
"""

from __future__ import annotations

import re

__all__ = ["MASK", "mask_url"]

MASK = "********"
#: Query parameters of a libpq URL that carry a credential (``?password=…``, ``?sslpassword=…``).
_SECRET_PARAMETER = re.compile(r"(?i)([?&][a-z_]*password=)[^&#]*")


def mask_url(url: str) -> str:
    """``url`` with the password of its user part and of its query replaced by ``********``
    (``postgresql://user:********@host/db``). A URL without a password comes back unchanged.

    The user part ends at the last ``@`` before the query, so a password holding an unencoded
    ``@``, ``/`` or ``:`` is masked whole.
    """
    scheme, separator, rest = url.partition("://")
    if separator:
        query = rest.find("?")
        at = rest.rfind("@", 0, query if query >= 0 else len(rest))
        if at >= 0 and ":" in rest[:at]:
            user = rest[:at].split(":", 1)[0]
            rest = f"{user}:{MASK}{rest[at:]}"
        url = f"{scheme}{separator}{rest}"
    return _SECRET_PARAMETER.sub(lambda m: m.group(1) + MASK, url)
