"""mask_url: a database URL without its password, however the URL is written."""

from __future__ import annotations

import pytest

from scanhook.redaction import mask_url


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://u:pw@h:5432/db", "postgresql://u:********@h:5432/db"),
        ("postgresql+psycopg://u:p@ss/w:rd@h/db", "postgresql+psycopg://u:********@h/db"),
        (
            "postgresql://u@h/db?password=pw&sslmode=require",
            "postgresql://u@h/db?password=********&sslmode=require",
        ),
        (
            "postgresql://u:pw@h/db?sslpassword=x",
            "postgresql://u:********@h/db?sslpassword=********",
        ),
        ("postgresql://u@h/db", "postgresql://u@h/db"),
        ("sqlite:///./scanhook.db", "sqlite:///./scanhook.db"),
        ("not a url", "not a url"),
    ],
)
def test_mask_url_hides_every_password(url: str, shown: str) -> None:
    assert mask_url(url) == shown
