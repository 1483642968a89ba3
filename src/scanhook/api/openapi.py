"""The OpenAPI document: FastAPI's, plus the notification schemas that POST /v1/events takes
(its body is read raw, so that an invalid notification gets scanhook's own field messages)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic.json_schema import models_json_schema

from scanhook.notifications import PAYLOAD_MODELS

__all__ = ["install_openapi", "notification_components"]

REF = "#/components/schemas/{model}"


def notification_components() -> dict[str, Any]:
    """Component schemas: each payload model, each wrapped notification, and ``Notification``
    (exactly one of them)."""
    _, top = models_json_schema(
        [(model, "validation") for model in PAYLOAD_MODELS.values()], ref_template=REF
    )
    components: dict[str, Any] = dict(top.get("$defs", {}))
    variants = []
    for key, model in PAYLOAD_MODELS.items():
        name = f"{model.__name__}Notification"
        components[name] = {
            "title": name,
            "type": "object",
            "properties": {key: {"$ref": REF.format(model=model.__name__)}},
            "required": [key],
            "additionalProperties": False,
        }
        variants.append({"$ref": REF.format(model=name)})
    components["Notification"] = {
        "title": "Notification",
        "description": "A notification as on the wire (docs/notifications.md): one top-level key.",
        "oneOf": variants,
    }
    return components


_UNSUPPORTED_MEDIA_TYPE = {
    "description": "The body is not declared JSON (Content-Type: application/json).",
    "content": {"application/json": {"schema": {"$ref": REF.format(model="ErrorResponse")}}},
}


def _document_media_type(schema: dict[str, Any]) -> None:
    """Every operation that takes a body answers 415 to one that is not JSON (the body gate
    in ``api/limits.py`` checks it for every route)."""
    for path_item in schema.get("paths", {}).values():
        for operation in path_item.values():
            if isinstance(operation, dict) and "requestBody" in operation:
                operation.setdefault("responses", {}).setdefault("415", _UNSUPPORTED_MEDIA_TYPE)


def install_openapi(app: FastAPI) -> None:
    """Make ``app.openapi()`` include the notification schemas."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            schema.setdefault("components", {}).setdefault("schemas", {}).update(
                notification_components()
            )
            _document_media_type(schema)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
