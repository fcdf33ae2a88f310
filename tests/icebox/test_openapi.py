"""The REST API's OpenAPI document says what the API answers: pages, and every error's body."""

import pytest

HTTP_METHODS = {"get", "post", "put", "patch", "delete"}


@pytest.fixture
def schema(anon_client):
    response = anon_client.get("/api/schema", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    return response.json()


def operations(schema):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method in HTTP_METHODS:
                yield path, method, operation


def test_the_artifact_list_is_declared_as_a_page_of_artifacts(schema):
    ok = schema["paths"]["/artifacts"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    page = schema["components"]["schemas"][ok["$ref"].rsplit("/", 1)[1]]
    assert {"count", "next", "previous", "results"} <= set(page["properties"])
    assert page["properties"]["results"]["items"] == {"$ref": "#/components/schemas/Artifact"}


def test_every_operation_declares_its_errors_with_the_error_body(schema):
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    assert set(schema["components"]["schemas"]["Error"]["required"]) == {"detail", "code"}
    for path, method, operation in operations(schema):
        responses = operation["responses"]
        expected = {"400", "401", "406", "429", "500"} | ({"404"} if path != "/api/token" else set())
        if method != "get":
            expected |= {"403", "415"}
        assert expected <= set(responses), (method, path)
        # A delete never waits for reads in progress, so it has no "busy, try again" answer.
        assert "409" not in responses, (method, path)
        for code in expected:
            assert responses[code]["content"] == error, (method, path, code)


def test_integer_parameters_are_declared_with_their_bounds(schema):
    def params(path):
        return {p["name"]: p["schema"] for p in schema["paths"][path]["get"]["parameters"]}

    assert params("/artifact/{artifact_id}")["limit"] == {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}
    assert params("/artifact/{artifact_id}")["offset"] == {"type": "integer", "minimum": 0, "maximum": 2**31 - 1}
    assert params("/artifacts")["calculation"]["minimum"] == 1
    assert params("/imports")["page"]["minimum"] == 1
    calc_id = schema["components"]["schemas"]["ImportRequest"]["properties"]["calc_id"]
    assert (calc_id["minimum"], calc_id["maximum"]) == (1, 2**31 - 1)


@pytest.mark.parametrize("page", ["\u0661", "\u00b9", "1.0", "0", "-1", "x"])
def test_a_page_number_not_in_ascii_digits_is_a_400(owner_client, page):
    response = owner_client.get("/imports", {"page": page})
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_parameter" and "page must be" in response.json()["detail"]


def test_the_last_page_and_a_page_past_the_end_keep_their_meaning(owner_client):
    assert owner_client.get("/artifacts", {"page": "last"}).status_code == 200
    response = owner_client.get("/artifacts", {"page": "2"})
    assert response.status_code == 404 and response.json()["code"] == "not_found"


def test_basic_with_the_api_token_is_a_declared_security_scheme(schema):
    assert schema["components"]["securitySchemes"]["basicToken"]["type"] == "http"
    assert schema["components"]["securitySchemes"]["basicToken"]["scheme"] == "basic"
    assert {"basicToken": []} in schema["paths"]["/artifacts"]["get"]["security"]
