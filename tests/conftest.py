"""Fixtures shared by every test folder."""

from __future__ import annotations

import pytest

#: The request payload of the seed document, byte for byte (seed/000_c66d7f80b5e6379c.txt).
SEED_FINISHED_SCAN = (
    b'{"finished_scan": {"status": "Completed", "low_cnt": 0, "critical_cnt": 1, '
    b'"started": "2018-08-21 12:02", "finished": "2018-08-21 12:59", '
    b'"link": "https://sc.holmsecurity.com/scans/scans/view/123", "duration": "00:57", '
    b'"errors": "", "name": "Daily scan", "high_cnt": 0, "medium_cnt": 3, "type": "network"}}'
)


@pytest.fixture
def seed_finished_scan() -> bytes:
    """The seed's example finished_scan body, exactly as the seed document shows it."""
    return SEED_FINISHED_SCAN
