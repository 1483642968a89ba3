"""A bounded schemathesis run against the live /openapi.json: generated requests to every
operation, valid (positive) and invalid (negative) ones, never get a 5xx, and every response
conforms to the document (status code, content type, body schema, headers); invalid requests
are refused.

(schemathesis' pytest loader does not work with pytest 9 yet, so the operations are walked here
with hypothesis directly.)"""

from __future__ import annotations

import pytest
import schemathesis
from apikit import TOKEN, ApiServer
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
    negative_data_rejection,
]
EXAMPLES = 10


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_api_conforms_to_its_openapi_document(api: ApiServer, mode: GenerationMode) -> None:
    schema = schemathesis.openapi.from_url(api.url("/openapi.json"))
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 20
    headers = {"Authorization": f"Bearer {TOKEN}"}
    tested = 0
    for operation in operations:

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def check(case: schemathesis.Case) -> None:
            case.call_and_validate(headers=headers, checks=CHECKS)

        try:
            check()
        except Unsatisfiable:
            # Nothing of this operation can be made invalid (no body, no constrained
            # parameter): only possible for negative data.
            assert mode is GenerationMode.NEGATIVE, operation.label
            continue
        tested += 1
    # Negative data exists for every operation with a body or a constrained parameter.
    assert tested >= (len(operations) if mode is GenerationMode.POSITIVE else 8)
