"""Every /v1 route with a request that is well formed (ids may not exist)."""

from __future__ import annotations

from typing import Any

EP = "ep_01JD0000000000000000000000"

#: (method, path, json body or None)
V1_ROUTES: list[tuple[str, str, Any]] = [
    ("POST", "/v1/endpoints", {"url": "http://127.0.0.1:9/hook"}),
    ("GET", "/v1/endpoints", None),
    ("GET", f"/v1/endpoints/{EP}", None),
    ("PATCH", f"/v1/endpoints/{EP}", {"description": "x"}),
    ("DELETE", f"/v1/endpoints/{EP}", None),
    ("POST", f"/v1/endpoints/{EP}/rotate-secret", None),
    ("GET", f"/v1/endpoints/{EP}/secret", None),
    ("POST", f"/v1/endpoints/{EP}/enable", None),
    ("POST", f"/v1/endpoints/{EP}/disable", None),
    ("POST", f"/v1/endpoints/{EP}/test", None),
    ("POST", f"/v1/endpoints/{EP}/replay", {"status": "failed"}),
    ("POST", "/v1/events", {"x": 1}),
    ("POST", "/v1/events/batch", {"events": [{"x": 1}]}),
    ("GET", "/v1/events/evt_01JD0000000000000000000000", None),
    ("GET", "/v1/deliveries", None),
    ("GET", "/v1/deliveries/dlv_01JD0000000000000000000000", None),
    ("POST", "/v1/deliveries/dlv_01JD0000000000000000000000/retry", None),
    ("GET", "/v1/stats", None),
    (
        "POST",
        "/v1/schedules",
        {"name": "n", "type": "network", "link": "https://x.example/s", "recurrence": "0 2 * * *"},
    ),
    ("GET", "/v1/schedules", None),
    ("GET", "/v1/schedules/sch_01JD0000000000000000000000", None),
    ("PATCH", "/v1/schedules/sch_01JD0000000000000000000000", {"name": "x"}),
    ("DELETE", "/v1/schedules/sch_01JD0000000000000000000000", None),
    ("GET", "/v1/schedules/sch_01JD0000000000000000000000/next", None),
    ("GET", "/v1/schedules/sch_01JD0000000000000000000000/notices", None),
]
