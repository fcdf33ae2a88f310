"""POST /artifacts/import, /imports, /calculations, /artifacts?calculation= for owner, other, anonymous and staff."""

import pytest
from django_tasks_db.models import DBTaskResult

from engine import runs, services
from engine.models import ImportJob
from tests.engine.conftest import NOTHING, stored_counts
from tests.engine.fake_engine import CALC, EXPECTED_ARTIFACTS, FakeEngine

pytestmark = pytest.mark.django_db


def post_import(client, **body):
    return client.post("/artifacts/import", body, format="json")


def run_queued() -> None:
    """What a worker does with each queued task (the real worker runs in tests/engine/test_worker.py)."""
    for task in DBTaskResult.objects.order_by("enqueued_at"):
        assert task.task_path == "engine.tasks.run_import"
        runs.import_job_run(job_id=task.args_kwargs["args"][0])


def test_post_answers_202_with_a_queued_job_and_contacts_no_engine(owner_client, fake_engine):
    response = post_import(owner_client, engine_url=fake_engine.url, calc_id=CALC)
    assert response.status_code == 202, response.json()
    body = response.json()
    assert body["status"] == "queued" and body["calc_id"] == CALC and body["engine_url"] == fake_engine.url
    assert body["url"].endswith(f"/imports/{body['id']}") and response["Location"] == body["url"]
    assert body["outputs"] == [] and body["datastore"] is False  # every output the calc lists
    assert body["progress"] == {"outputs_done": 0, "outputs_total": 0, "bytes_done": 0, "bytes_total": 0}
    assert DBTaskResult.objects.get().args_kwargs == {"args": [body["id"]], "kwargs": {}}
    assert fake_engine.connections == 0  # the work happens in a worker


def test_the_job_reports_progress_artifacts_and_skipped_outputs_when_done(owner_client, fake_engine):
    job_id = post_import(owner_client, url=f"{fake_engine.url}/v1/calc/{CALC}/results", outputs=["hmaps", "uhs"]).json()["id"]
    run_queued()
    body = owner_client.get(f"/imports/{job_id}").json()
    assert body["status"] == "done" and body["error"] == ""
    assert body["progress"]["outputs_done"] == body["progress"]["outputs_total"] == 2
    assert len(body["artifacts"]) == 12 and body["artifacts"][0]["url"].startswith("http://testserver/artifact/")
    assert {s["type"] for s in body["skipped"]} == {"fullreport", "hcurves", "hmaps-stats", "realizations", "site_model"}
    assert body["calculation_url"].endswith(f"/calculations/{body['calculation']}")


@pytest.mark.parametrize(
    "body",
    [
        {"engine_url": "http://127.0.0.1:1", "calc_id": 2},
        {"engine_url": "http://169.254.169.254", "calc_id": 2},
        {"url": "http://10.0.0.1:8800/v1/calc/2/results"},
        {"url": "file:///etc/passwd"},
    ],
)
def test_hosts_off_the_allow_list_are_400_and_no_request_is_sent(owner_client, fake_engine, body):
    response = post_import(owner_client, **body)
    assert response.status_code == 400
    assert response.json()["code"] == "engine_not_allowed"
    assert ImportJob.objects.count() == 0 and DBTaskResult.objects.count() == 0
    assert fake_engine.connections == 0


def test_userinfo_in_the_url_is_400_even_for_a_listed_server(owner_client, fake_engine):
    host = fake_engine.url.removeprefix("http://")
    response = post_import(owner_client, engine_url=f"http://admin:pw@{host}", calc_id=CALC)
    assert response.status_code == 400 and "user name or password" in response.json()["detail"]
    assert "pw" not in response.json()["detail"].replace("password", "")
    assert fake_engine.connections == 0


def test_another_port_of_the_listed_host_is_400(owner_client, fake_engine):
    with FakeEngine() as unlisted:
        response = post_import(owner_client, engine_url=unlisted.url, calc_id=CALC)
        assert response.status_code == 400
        assert unlisted.connections == 0 and fake_engine.connections == 0


@pytest.mark.parametrize(
    "body, message",
    [
        ({"calc_id": 2}, "give engine_url and calc_id"),
        ({"outputs": ["hcurves", "bad\nname"]}, "is not an engine output type name"),
        ({"datastore": "yes"}, "datastore must be true or false"),
        ({"outputs": "hcurves"}, "outputs must be a non-empty list"),
        ({"outputs": []}, "outputs must be a non-empty list"),
        ({"calc": 2}, "unknown field(s) calc"),
    ],
)
def test_bad_requests_are_400_with_a_reason(owner_client, fake_engine, body, message):
    full = {"engine_url": fake_engine.url, "calc_id": CALC, **body} if "calc_id" not in body else body
    response = post_import(owner_client, **full)
    assert response.status_code == 400
    assert message in response.json()["detail"]
    assert ImportJob.objects.count() == 0


def test_anonymous_cannot_import_or_list(anon_client, fake_engine):
    assert post_import(anon_client, engine_url=fake_engine.url, calc_id=CALC).status_code == 401
    assert anon_client.get("/imports").status_code == 401
    assert anon_client.get("/calculations").status_code == 401


def test_a_user_cannot_import_for_another(owner_client, other_user, fake_engine):
    response = post_import(owner_client, engine_url=fake_engine.url, calc_id=CALC, owner="other")
    assert response.status_code == 403
    assert response.json() == {"detail": "only staff may import for another user", "code": "forbidden"}
    assert ImportJob.objects.count() == 0


def test_naming_oneself_as_owner_is_fine(owner, owner_client, fake_engine):
    assert post_import(owner_client, engine_url=fake_engine.url, calc_id=CALC, owner="owner").status_code == 202


def test_staff_import_for_another_user(staff, staff_client, owner, owner_client, other_client, fake_engine):
    response = post_import(staff_client, engine_url=fake_engine.url, calc_id=CALC, owner="owner")
    assert response.status_code == 202
    assert response.json()["owner"] == "owner" and response.json()["requested_by"] == "staff"
    run_queued()
    job_id = response.json()["id"]
    # The owner owns the artifacts and sees the job; staff sees the job they asked for; no one else.
    assert owner_client.get("/artifacts").json()["count"] == EXPECTED_ARTIFACTS
    assert staff_client.get("/artifacts").json()["count"] == 0
    assert owner_client.get(f"/imports/{job_id}").status_code == 200
    assert staff_client.get(f"/imports/{job_id}").status_code == 200
    assert other_client.get(f"/imports/{job_id}").status_code == 404
    assert [j["id"] for j in staff_client.get("/imports").json()["results"]] == [job_id]


def test_staff_naming_an_unknown_user_is_400(staff_client, fake_engine):
    response = post_import(staff_client, engine_url=fake_engine.url, calc_id=CALC, owner="nobody")
    assert response.status_code == 400 and response.json()["detail"] == "no user named 'nobody'"


def test_imports_and_calculations_are_owner_scoped(owner_client, other_client, fake_engine):
    job_id = post_import(owner_client, engine_url=fake_engine.url, calc_id=CALC).json()["id"]
    run_queued()
    assert [j["id"] for j in owner_client.get("/imports").json()["results"]] == [job_id]
    assert other_client.get("/imports").json()["results"] == []
    assert other_client.get(f"/imports/{job_id}").status_code == 404
    assert other_client.get("/imports/999999").status_code == 404

    calculations = owner_client.get("/calculations").json()["results"]
    assert len(calculations) == 1
    calc = calculations[0]
    assert calc["calc_id"] == CALC and calc["engine_version"] == "3.26.2" and len(calc["artifacts"]) == EXPECTED_ARTIFACTS
    assert "oqparam" not in calc
    detail = owner_client.get(f"/calculations/{calc['id']}").json()
    assert detail["oqparam"]["poes"] == [0.002105]
    assert {a["output_type"] for a in detail["artifacts"]} == {"fullreport", "hcurves", "hmaps", "hmaps-stats", "realizations", "site_model", "uhs"}
    assert other_client.get("/calculations").json()["results"] == []
    assert other_client.get(f"/calculations/{calc['id']}").status_code == 404

    listed = owner_client.get(f"/artifacts?calculation={calc['id']}").json()
    assert listed["count"] == EXPECTED_ARTIFACTS
    assert listed["results"][0]["metadata"]["source"]["calculation"] == calc["id"]
    assert other_client.get(f"/artifacts?calculation={calc['id']}").json()["count"] == 0
    assert owner_client.get("/artifacts?calculation=x").status_code == 400
    # The artifacts themselves: the owner reads them, the other user gets 404.
    artifact_id = listed["results"][0]["id"]
    assert owner_client.get(f"/artifact/{artifact_id}").status_code == 200
    assert other_client.get(f"/artifact/{artifact_id}").status_code == 404


def test_a_failed_job_says_why(owner_client, fake_engine):
    job_id = post_import(owner_client, engine_url=fake_engine.url, calc_id=7).json()["id"]
    run_queued()
    body = owner_client.get(f"/imports/{job_id}").json()
    assert body["status"] == "failed"
    assert body["error"].startswith(f"engine at {fake_engine.url} answered 404 for calc 7: no such calculation")
    assert body["artifacts"] == [] and body["calculation"] is None
    assert stored_counts() == NOTHING


@pytest.mark.parametrize(
    "calc_id",
    ["²", "٣", "99999999999999999999", 99999999999999999999, 2147483648, 1e30, 2.0, "2.0", " 2", pytest.param("9" * 5000, id="5000-digits")],
)
def test_a_calc_id_that_is_not_an_integer_in_ascii_digits_and_in_range_is_400(owner_client, fake_engine, calc_id):
    response = post_import(owner_client, engine_url=fake_engine.url, calc_id=calc_id)
    assert response.status_code == 400, response.content
    assert response.json()["code"] == "invalid_parameter" and "calc_id must be" in response.json()["detail"]
    assert ImportJob.objects.count() == 0


def test_a_calc_url_whose_id_is_out_of_range_is_400(owner_client, fake_engine):
    response = post_import(owner_client, url=f"{fake_engine.url}/v1/calc/999999999999/results")
    assert response.status_code == 400, response.content
    assert "calc_id must be <= 2147483647" in response.json()["detail"]
    assert ImportJob.objects.count() == 0


def test_staff_importing_for_a_name_holding_nul_is_400(staff_client, fake_engine):
    response = post_import(staff_client, engine_url=fake_engine.url, calc_id=CALC, owner="ow\x00ner")
    assert response.status_code == 400, response.content
    assert response.json()["detail"] == "owner must be a user name"
    assert ImportJob.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_under_djangos_own_server_post_answers_202_with_a_plain_location(live_server, owner, fake_engine):
    """live_server is runserver's WSGIServer (wsgiref), which refuses a header value that is not exactly a str."""
    import requests
    from rest_framework.authtoken.models import Token

    token = Token.objects.create(user=owner).key
    response = requests.post(
        f"{live_server.url}/artifacts/import",
        json={"engine_url": fake_engine.url, "calc_id": CALC},
        headers={"Authorization": f"Token {token}"},
        timeout=30,
    )
    assert response.status_code == 202, response.text
    assert response.headers["Location"] == response.json()["url"] == f"{live_server.url}/imports/{response.json()['id']}"
    assert ImportJob.objects.count() == 1


def test_a_shared_calculation_is_readable_but_its_import_stays_the_owners(owner, owner_client, other_client, fake_engine):
    job_id = post_import(owner_client, engine_url=fake_engine.url, calc_id=CALC).json()["id"]
    run_queued()
    calc_id = owner_client.get("/calculations").json()["results"][0]["id"]
    assert owner_client.post(f"/calculations/{calc_id}/shares", {"user": "other"}, format="json").status_code == 201
    calc = other_client.get(f"/calculations/{calc_id}").json()
    assert (calc["owner"], calc["access"], len(calc["artifacts"])) == ("owner", "shared", EXPECTED_ARTIFACTS)
    assert other_client.get(f"/artifacts?calculation={calc_id}").json()["count"] == EXPECTED_ARTIFACTS
    assert other_client.get(calc["artifacts"][0]["url"]).status_code == 200
    # The import job is the owner's (and its requester's) only, shared calculation or not.
    assert other_client.get(f"/imports/{job_id}").status_code == 404
    assert other_client.get("/imports").json()["results"] == []
