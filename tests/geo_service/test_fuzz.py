"""Schemathesis against the service's own OpenAPI: no 5xx, no response off its declared schema,
no hang — every operation, a fixed number of examples, derandomised so CI is stable."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from geo_service.app import create_app
from geo_service.settings import Settings

EXAMPLES = 30
REQUEST_TIMEOUT_S = 30


def load_schema(data_dir: Path) -> schemathesis.schemas.BaseSchema:
    return schemathesis.openapi.from_asgi("/api", create_app(Settings(data_dir=data_dir)))


def operations(schema: schemathesis.schemas.BaseSchema) -> dict[str, object]:
    return {result.ok().label: result.ok() for result in schema.get_all_operations()}


# The OpenAPI document does not depend on the data: list the operations once at collection.
with tempfile.TemporaryDirectory() as empty:
    LABELS = sorted(operations(load_schema(Path(empty))))


@pytest.fixture(scope="module")
def live_operations(demo_run: Path) -> dict[str, object]:
    return operations(load_schema(demo_run))


def test_every_operation_is_fuzzed() -> None:
    assert len(LABELS) >= 10
    assert "GET /tiles/{layer_id}/{z}/{x}/{y}.png" in LABELS or any(
        label.startswith("GET /tiles/") for label in LABELS)


@pytest.mark.parametrize("label", LABELS)
def test_api_never_fails_or_lies(label: str, live_operations: dict[str, object]) -> None:
    operation = live_operations[label]

    @given(case=operation.as_strategy())  # type: ignore[attr-defined]
    @settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    def fuzz(case: schemathesis.Case) -> None:
        response = case.call(timeout=REQUEST_TIMEOUT_S)
        case.validate_response(response, checks=[
            schemathesis.checks.not_a_server_error,
            schemathesis.checks.response_schema_conformance,
            schemathesis.checks.content_type_conformance,
        ])

    fuzz()
