"""/docs and /redoc work offline: every script, style and image they load comes from scanhook
itself, and nothing on the pages names another host."""

from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit

import pytest
from apikit import ApiServer

_ASSET = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']|url\s*:\s*["']([^"']+)["']""")
_ANY_URL = re.compile(r"""(?:https?:)?//[A-Za-z0-9.-]+""")


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_the_docs_pages_load_everything_from_the_running_app(api: ApiServer, page: str) -> None:
    response = api.anonymous.get(api.url(page))
    assert response.status_code == 200
    html = response.text
    here = urlsplit(api.base_url).netloc
    # No other host anywhere on the page (scripts, styles, fonts, favicon, validator).
    assert [u for u in _ANY_URL.findall(html) if urlsplit(u).netloc not in ("", here)] == []
    assets = {a or b for a, b in _ASSET.findall(html)}
    scripts = [a for a in assets if a.endswith(".js")]
    assert scripts, html
    for asset in assets:
        url = urljoin(api.url(page), asset)
        assert urlsplit(url).netloc == here, asset
        loaded = api.anonymous.get(url)
        assert loaded.status_code == 200, asset
        assert len(loaded.content) > 0
    if page == "/docs":
        assert '"validatorUrl": null' in html
