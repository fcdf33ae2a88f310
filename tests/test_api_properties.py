"""Property-based test of both OpenAPI documents against a real server (Django's live_server).

Schemathesis generates requests from /api/schema and /ogc/api, valid and invalid, a fixed number
per operation with Hypothesis derandomized (the same requests on every run), sent as a user who
owns real artifacts, half of them with the path ids of those artifacts. Every answer must be no
5xx and conform to its schema: a documented status code, content type, headers and body.
"""

from __future__ import annotations

import pytest
import schemathesis
from django.core.cache import caches
from hypothesis import HealthCheck, Phase, given, settings
from rest_framework.authtoken.models import Token
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from artifacts import services
from tests.conftest import fixture_bytes

pytestmark = pytest.mark.django_db(transaction=True)

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance, response_schema_conformance]
EXAMPLES = 25  # per operation and variant: ~2,500 requests in all, about half a minute here
FIXTURE_FILES = ("hazard_map-mean_2.csv", "hazard_curve-mean-PGA_2.csv", "hazard_uhs-mean_2.csv")


@pytest.fixture
def owned(owner):
    """The owner's token and the ids of the artifacts it owns, stored through the upload service."""
    ids = [a.pk for name in FIXTURE_FILES for a in services.artifact_upload(owner=owner, file_name=name, data=fixture_bytes(name))]
    yield Token.objects.create(user=owner).key, ids
    for cache in caches.all():
        cache.clear()  # throttling counts: the thousand requests here must not limit later tests


def _path_ids(operation, artifact_id: int) -> dict | None:
    names = {p.name for p in operation.path_parameters}
    known = {"artifact_id": artifact_id, "collectionId": str(artifact_id), "featureId": "0", "z": 0, "x": 0, "y": 0}
    if not names or not names <= set(known):
        return None
    return {name: known[name] for name in names}


def _failures(schema, *, base_url: str, token: str, artifact_ids: list[int]) -> list[str]:
    """Run every operation, deletes last and on an artifact of their own; each failure (one per
    operation and variant) as text."""
    failures = []
    operations = sorted((result.ok() for result in schema.get_all_operations()), key=lambda op: op.method.upper() == "DELETE")
    for operation in operations:
        artifact_id = artifact_ids[-1] if operation.method.upper() == "DELETE" else artifact_ids[0]
        variants = [("positive", GenerationMode.POSITIVE, None), ("negative", GenerationMode.NEGATIVE, None)]
        if (ids := _path_ids(operation, artifact_id)) is not None:
            variants.append(("positive, owned ids", GenerationMode.POSITIVE, ids))
        for label, mode, path_parameters in variants:

            @given(case=operation.as_strategy(generation_mode=mode, path_parameters=path_parameters))
            @settings(
                max_examples=EXAMPLES,
                derandomize=True,
                database=None,
                deadline=None,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            def run(case):
                case.call_and_validate(base_url=base_url, headers={"Authorization": f"Token {token}"}, checks=CHECKS)

            try:
                run()
            except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - collected, reported together below
                failures.append(f"{operation.label} [{label}]: {exc}")
    return failures


@pytest.mark.parametrize("document, prefix", [("/api/schema", ""), ("/ogc/api", "/ogc")])
def test_every_answer_of_the_api_conforms_to_its_openapi_document(live_server, owned, document, prefix):
    token, artifact_ids = owned
    schema = schemathesis.openapi.from_url(f"{live_server.url}{document}", headers={"Authorization": f"Token {token}"})
    failures = _failures(schema, base_url=f"{live_server.url}{prefix}", token=token, artifact_ids=artifact_ids)
    assert not failures, "\n\n".join(failures)
