"""/v1/schedules over a real uvicorn server on a SQLite file, with the Hub's clock set by the
test: CRUD with errors that name the field, the next notices in the contract's shape, and the
notice log with sent and skipped notices (and their events)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from apikit import ApiServer
from schedkit import Clock

BODY = {
    "name": "Nightly network scan",
    "type": "network",
    "link": "https://sc.example.com/scans/schedules/view/42",
    "recurrence": "30 2 * * *",
    "timezone": "Europe/Stockholm",
    "leads": ["1h"],
}


@pytest.fixture
def clock() -> Clock:
    c = Clock()
    c.set("2026-03-28 12:00")
    return c


@pytest.fixture
def api(tmp_path: Path, clock: Clock) -> Iterator[ApiServer]:
    server = ApiServer(tmp_path / "api.db")
    server.hub.clock = server.hub.scheduler.clock = clock
    server.start()
    try:
        yield server
    finally:
        server.close()


def _create(api: ApiServer, **changes: Any) -> dict[str, Any]:
    response = api.session.post(api.url("/v1/schedules"), json={**BODY, **changes})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def test_create_read_list_change_delete(api: ApiServer) -> None:
    created = _create(api)
    assert created["id"].startswith("sch_")
    assert {k: created[k] for k in BODY} == BODY
    assert created["enabled"] is True
    assert created["created_at"] == "2026-03-28T12:00:00Z"
    sid = created["id"]

    assert api.session.get(api.url(f"/v1/schedules/{sid}")).json() == created
    listed = api.session.get(api.url("/v1/schedules")).json()
    assert listed == {"data": [created], "next_cursor": None}

    changed = api.session.patch(api.url(f"/v1/schedules/{sid}"), json={"leads": ["24h", "1h"]})
    assert changed.status_code == 200
    assert changed.json()["leads"] == ["24h", "1h"]
    assert changed.json()["name"] == BODY["name"]

    assert api.session.delete(api.url(f"/v1/schedules/{sid}")).status_code == 204
    for method in ("GET", "PATCH", "DELETE"):
        gone = api.session.request(method, api.url(f"/v1/schedules/{sid}"), json={})
        assert gone.status_code == 404, method
        assert gone.json()["error"]["code"] == "not_found"
    assert api.session.get(api.url("/v1/schedules")).json()["data"] == []


def test_defaults_and_the_zone_of_a_dtstart(api: ApiServer) -> None:
    body = {k: v for k, v in BODY.items() if k not in ("timezone", "leads")}
    body["recurrence"] = "DTSTART;TZID=America/New_York:20260105T220000\nRRULE:FREQ=WEEKLY;BYDAY=MO"
    response = api.session.post(api.url("/v1/schedules"), json=body)
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["timezone"] == "America/New_York"
    assert created["leads"] == ["24h", "1h"]


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"recurrence": "30 2 * *"}, "recurrence", "has 4 field(s)"),
        ({"timezone": "Europe/Nowhere"}, "timezone", "Europe/Nowhere"),
        ({"leads": ["1h", "soon"]}, "leads.1", "soon"),
        ({"leads": ["1h", "60m"]}, "leads", "the same lead"),
        ({"type": "desktop"}, "type", "network"),
        ({"link": "ftp://x"}, "link", ""),
        ({"colour": "red"}, "colour", "unknown field"),
    ],
)
def test_invalid_schedules_are_refused_naming_the_field(
    api: ApiServer, changes: dict[str, Any], field: str, words: str
) -> None:
    response = api.session.post(api.url("/v1/schedules"), json={**BODY, **changes})
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["field"] == field
    assert error["message"].startswith(f"{field}: ")
    assert words in error["message"]
    assert api.session.get(api.url("/v1/schedules")).json()["data"] == []


def test_a_patch_is_validated_as_a_whole_and_null_is_refused(api: ApiServer) -> None:
    sid = _create(api)["id"]
    bad = api.session.patch(api.url(f"/v1/schedules/{sid}"), json={"recurrence": "0 0 31 2 *"})
    assert bad.status_code == 422
    assert bad.json()["error"]["field"] == "recurrence"
    null = api.session.patch(api.url(f"/v1/schedules/{sid}"), json={"name": None})
    assert null.status_code == 422
    assert null.json()["error"]["field"] == "name"
    assert api.session.get(api.url(f"/v1/schedules/{sid}")).json()["name"] == BODY["name"]


def test_next_notices_in_the_contract_shape(api: ApiServer) -> None:
    sid = _create(api)["id"]
    response = api.session.get(api.url(f"/v1/schedules/{sid}/next"), params={"count": 2})
    assert response.status_code == 200
    # 02:30 does not exist in Stockholm on 29 March: the run is 03:30 CEST = 01:30 UTC.
    assert response.json() == {
        "notices": [
            {"send_at": "2026-03-29T00:30:00+00:00", "starts_at": "2026-03-29 01:30", "lead": "1h"},
            {"send_at": "2026-03-29T23:30:00+00:00", "starts_at": "2026-03-30 00:30", "lead": "1h"},
        ]
    }
    for count in ("0", "1001", "two"):
        bad = api.session.get(api.url(f"/v1/schedules/{sid}/next"), params={"count": count})
        assert bad.status_code == 422
        assert bad.json()["error"]["field"] == "count"
    assert api.session.get(api.url("/v1/schedules/sch_nope/next")).status_code == 404
    twice = api.session.get(api.url(f"/v1/schedules/{sid}/next?count=1&count=2"))
    assert twice.status_code == 422
    assert twice.json()["error"]["message"] == "count: give this query parameter once"


def test_the_notice_log_shows_sent_and_skipped_notices(api: ApiServer, clock: Clock) -> None:
    sid = _create(api, recurrence="0 * * * *", timezone="UTC", leads=["0s"])["id"]
    clock.set("2026-03-28 16:30")  # the scheduler was down since 12:00; grace is 1h
    api.run(api.hub.run_scheduler_pass())
    page = api.session.get(api.url(f"/v1/schedules/{sid}/notices"), params={"limit": 3}).json()
    assert [(n["starts_at"], n["status"]) for n in page["data"]] == [
        ("2026-03-28 13:00", "skipped"),
        ("2026-03-28 14:00", "skipped"),
        ("2026-03-28 15:00", "skipped"),
    ]
    assert all(n["event_id"] is None for n in page["data"])
    rest = api.session.get(
        api.url(f"/v1/schedules/{sid}/notices"), params={"cursor": page["next_cursor"]}
    ).json()
    assert rest["next_cursor"] is None
    (sent,) = rest["data"]
    assert sent["status"] == "sent"
    assert sent["key"] == f"{sid}/20260328T160000Z/0s"
    assert sent["send_at"] == "2026-03-28T16:00:00Z"
    assert sent["lead"] == "0s"
    event = api.session.get(api.url(f"/v1/events/{sent['event_id']}")).json()
    assert event["type"] == "scheduled_scan"
    assert event["payload"]["scheduled_scan"]["starts_at"] == "2026-03-28 16:00"

    # Deleting keeps the log.
    assert api.session.delete(api.url(f"/v1/schedules/{sid}")).status_code == 204
    kept = api.session.get(api.url(f"/v1/schedules/{sid}/notices")).json()["data"]
    assert len(kept) == 4
    assert api.session.get(api.url("/v1/schedules/sch_nope/notices")).status_code == 404


def test_every_schedule_route_needs_the_token(api: ApiServer) -> None:
    sid = _create(api)["id"]
    for method, path in [
        ("POST", "/v1/schedules"),
        ("GET", "/v1/schedules"),
        ("GET", f"/v1/schedules/{sid}"),
        ("PATCH", f"/v1/schedules/{sid}"),
        ("DELETE", f"/v1/schedules/{sid}"),
        ("GET", f"/v1/schedules/{sid}/next"),
        ("GET", f"/v1/schedules/{sid}/notices"),
    ]:
        response = api.anonymous.request(method, api.url(path), json=BODY)
        assert response.status_code == 401, (method, path)
    assert api.session.get(api.url(f"/v1/schedules/{sid}")).status_code == 200
