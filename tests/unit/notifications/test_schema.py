"""The JSON Schemas: made from the models, committed under schemas/, and true to the wire."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from scanhook.notifications import PAYLOAD_MODELS, all_schemas, encode, json_schema, samples
from scanhook.notifications.schema import file_name, render, schema_key

SCHEMAS_DIR = Path(__file__).resolve().parents[3] / "schemas"
REGENERATE = "regenerate them with: scanhook schema --write schemas/"


def validator(name: str) -> Draft202012Validator:
    return Draft202012Validator(
        json.loads((SCHEMAS_DIR / file_name(name)).read_text(encoding="utf-8")),
        format_checker=Draft202012Validator.FORMAT_CHECKER,
    )


@pytest.mark.parametrize("name", list(all_schemas()))
def test_committed_schema_matches_the_models(name: str) -> None:
    path = SCHEMAS_DIR / file_name(name)
    assert path.exists(), f"{path} is missing; {REGENERATE}"
    committed = path.read_text(encoding="utf-8")
    assert committed == render(all_schemas()[name]), (
        f"{path} has drifted from the models; {REGENERATE}"
    )


def test_no_stray_schema_files() -> None:
    expected = {file_name(name) for name in all_schemas()}
    found = {path.name for path in SCHEMAS_DIR.glob("*.json")}
    assert found == expected, f"schemas/ should hold exactly {sorted(expected)}; {REGENERATE}"


def test_rendering_is_stable_pretty_and_ends_with_a_newline() -> None:
    text = render(json_schema("finished_scan"))
    assert text.endswith("}\n")
    assert text.startswith('{\n  "$id": ')
    assert render(json.loads(text)) == text


@pytest.mark.parametrize("name", list(all_schemas()))
def test_schemas_are_valid_draft_2020_12(name: str) -> None:
    schema = all_schemas()[name]
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == f"https://scanhook.dev/schemas/{name}.schema.json"
    assert schema["title"]
    assert schema["description"]


@pytest.mark.parametrize("key", list(PAYLOAD_MODELS))
def test_a_schema_is_the_whole_envelope(key: str) -> None:
    schema = json_schema(key)
    assert schema["type"] == "object"
    assert schema["required"] == [key]
    assert schema["additionalProperties"] is False
    payload = schema["properties"][key]
    assert payload["additionalProperties"] is False
    assert payload["required"] == list(PAYLOAD_MODELS[key].model_fields)


def test_event_types_name_the_ticket_schema() -> None:
    assert schema_key("ticket.opened") == schema_key("ticket.closed") == "ticket"
    assert json_schema("ticket.closed") == json_schema("ticket")
    with pytest.raises(ValueError, match="unknown notification type 'scan'"):
        schema_key("scan")


def test_the_seed_example_validates(seed_finished_scan: bytes) -> None:
    document = json.loads(seed_finished_scan)
    validator("finished_scan").validate(document)
    validator("notification").validate(document)
    assert not validator("ticket").is_valid(document)


def test_samples_of_every_kind_validate() -> None:
    for note in samples("mixed", 200, seed=7):
        document = json.loads(encode(note))
        validator(note.KEY).validate(document)
        validator("notification").validate(document)


def _seed_document(seed_finished_scan: bytes) -> dict[str, Any]:
    return dict(json.loads(seed_finished_scan))


@pytest.mark.parametrize(
    ("change", "what"),
    [
        (lambda d: d["finished_scan"].update(low_cnt=-1), "negative count"),
        (lambda d: d["finished_scan"].update(low_cnt="0"), "count as text"),
        (lambda d: d["finished_scan"].update(extra=1), "unknown field"),
        (lambda d: d["finished_scan"].pop("duration"), "missing field"),
        (lambda d: d["finished_scan"].update(type="web"), "bad enum"),
        (lambda d: d["finished_scan"].update(started="2018-08-21T12:02"), "ISO timestamp"),
        (lambda d: d["finished_scan"].update(duration="0:57"), "bad duration"),
        (lambda d: d["finished_scan"].update(link="sc.example.com/x"), "relative link"),
        (lambda d: d.update(ticket={}), "two top-level keys"),
    ],
)
def test_the_schema_refuses_what_scanhook_never_sends(
    seed_finished_scan: bytes, change: Any, what: str
) -> None:
    document = copy.deepcopy(_seed_document(seed_finished_scan))
    change(document)
    assert not validator("finished_scan").is_valid(document), what
    assert not validator("notification").is_valid(document), what
