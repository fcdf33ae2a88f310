"""Sharing: an artifact or a calculation shared read-only with a user, a group or everyone, and taken back.

The access matrix runs every endpoint and method for each role: the owner, a user it is shared with
directly, through a group, through everyone, through the calculation, a user it is not shared with,
staff, and anonymous. A reader gets 200 on every read and 403 read_only on every write; anyone else
404, exactly like a missing id.
"""

from __future__ import annotations

import json

import pytest
from django.contrib.auth import get_user_model
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext

from artifacts.services import artifact_upload
from blobs.models import Blob
from core import prepared
from engine.models import Calculation, ImportedOutput, ImportJob, ImportStatus
from icebox.models import Artifact
from sharing import services
from sharing.models import Share
from tests.conftest import _client_for, fixture_bytes

pytestmark = pytest.mark.django_db

MAP, UHS = "hazard_map-mean_2.csv", "hazard_uhs-mean_2.csv"
REGION = "POLYGON((-180 -85,180 -85,180 85,-180 85,-180 -85))"
SITE = "lon=-123.23&lat=49.27"  # near the fixtures' sites


def body(response) -> bytes:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content)
    return response.content


def upload_file(client, name=MAP):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return client.post("/artifacts", {"file": SimpleUploadedFile(name, fixture_bytes(name))}, format="multipart")


class World:
    """The owner's calculation C holding artifact A (the one shared directly) and artifact B (readable
    only through C); an import job J of C; shares with carol the owner may revoke in the matrix."""

    def __init__(self, owner):
        User = get_user_model()
        self.owner = owner
        [self.a] = artifact_upload(owner=owner, file_name=MAP, data=fixture_bytes(MAP))
        [self.b] = artifact_upload(owner=owner, file_name=UHS, data=fixture_bytes(UHS))
        self.c = Calculation.objects.create(
            owner=owner, engine_url="http://127.0.0.1:8800", calc_id=2, engine_version="3.26.2", calculation_mode="classical", labels=["kept"]
        )
        for output_id, artifact in enumerate([self.a, self.b], start=1):
            ImportedOutput.objects.create(
                calculation=self.c, output_id=output_id, output_type="hmaps", export_name=artifact.file_name, file_name=artifact.file_name, artifact=artifact
            )
        self.job = ImportJob.objects.create(
            owner=owner, requested_by=owner, engine_url=self.c.engine_url, calc_id=2, calculation=self.c, status=ImportStatus.DONE
        )
        self.job.artifacts.add(self.a, self.b)
        self.carol = User.objects.create_user("carol")
        self.dave = User.objects.create_user("dave")
        self.carol_a, _ = services.share_create(sharer=owner, artifact=self.a, user="carol")
        self.carol_c, _ = services.share_create(sharer=owner, calculation=self.c, user="carol")

    def share(self, **kwargs) -> Share:
        share, created = services.share_create(sharer=self.owner, **kwargs)
        assert created
        return share


@pytest.fixture
def world(owner):
    return World(owner)


# --- the access matrix -------------------------------------------------------------------------

ROLES = ["owner", "direct", "group", "everyone", "calculation", "not_shared", "staff", "anonymous"]
READS_A = {"owner", "direct", "group", "everyone", "calculation"}  # who reads artifact A
READS_C = {"owner", "calculation"}  # who reads calculation C, and so artifact B


def role_client(role, world, request):
    """The client of `role`, after making the share that role is about."""
    fixture = request.getfixturevalue
    if role == "everyone":
        client = _client_for(get_user_model().objects.create_user("anyone"))
    else:
        name = {"owner": "owner", "direct": "grantee", "group": "member", "calculation": "grantee", "not_shared": "other", "staff": "staff"}
        client = fixture(f"{name[role]}_client") if role in name else fixture("anon_client")
    shares = {
        "direct": {"artifact": world.a, "user": "grantee"},
        "group": {"artifact": world.a, "group": "modellers"},
        "everyone": {"artifact": world.a, "everyone": True},
        "calculation": {"calculation": world.c, "user": "grantee"},
    }
    if role in shares:
        world.share(**shares[role])
    return client


def endpoints(w: World) -> list[tuple[str, str, dict | str | None, set, int | tuple[str, int]]]:
    """(method, path, JSON body, readers, status): readers get that status, everyone else 404.

    ("owner only", N): what only the owner may do (change, delete, see or change shares): the owner gets
    the success status, the other readers 403 read_only. In order, deletes last.
    """
    a, b, c = w.a.pk, w.b.pk, w.c.pk
    everyone = set(ROLES) - {"anonymous"}
    reads = [
        f"/artifact/{a}",
        f"/artifact/{a}?bbox=-180,-90,180,90",
        f"/artifact/{a}?tile=0/0/0",
        f"/artifact/{a}?region={REGION}",
        f"/artifact/{a}?limit=1&offset=1",
        f"/artifact/{a}?properties=PGA-0.002105",
        f"/artifact/{a}?format=raw",
        f"/artifact/{a}/raw",
        f"/artifact/{a}/tiles/0/0/0.mvt",
        f"/artifact/{a}/tiles.json",
        f"/artifact/{a}/rows",
        f"/artifact/{a}/rows?limit=1&offset=1",
        f"/ogc/collections/{a}",
        f"/ogc/collections/{a}/items",
        f"/ogc/collections/{a}/items?bbox=-180,-90,180,90&limit=1&offset=1",
        f"/ogc/collections/{a}/items/0",
        f"/artifact/{a}/site?{SITE}",
        f"/artifact/{a}/site?{SITE}&interpolate=true",
        f"/compare?a={a}&b={a}",
        f"/compare/summary?a={a}&b={a}",
        f"/compare/tiles/0/0/0.mvt?a={a}&b={a}",
    ]
    return [
        *[("get", path, None, READS_A, 200) for path in reads],
        ("get", f"/artifact/{b}", None, READS_C, 200),
        ("get", f"/artifact/{b}/tiles/0/0/0.mvt", None, READS_C, 200),
        ("get", f"/artifact/{b}/rows", None, READS_C, 200),
        ("get", f"/ogc/collections/{b}/items/0", None, READS_C, 200),
        ("get", f"/calculations/{c}", None, READS_C, 200),
        ("get", f"/calculations/{c}/export", None, READS_C, 200),
        ("get", f"/artifact/{b}/site?{SITE}", None, READS_C, 200),
        ("get", f"/calculations/{c}/site?{SITE}", None, READS_C, 200),
        ("get", f"/calculations/{c}/site?{SITE}&interpolate=true", None, READS_C, 200),
        ("get", f"/compare/summary?a={b}&b={b}", None, READS_C, 200),
        # Whoever cannot read one of the two gets a 404, as for a missing id; a reader of both learns they differ.
        ("get", f"/compare/summary?a={a}&b={b}", None, READS_C, 400),
        ("get", f"/compare/tiles/0/0/0.mvt?a={b}&b={a}", None, READS_C, 400),
        ("get", "/artifacts", None, everyone, 200),
        ("get", "/artifacts?shared=true", None, everyone, 200),
        ("get", f"/artifacts?calculation={c}", None, everyone, 200),
        ("get", "/calculations", None, everyone, 200),
        ("get", "/calculations?mode=classical&engine=3.26.2&label=kept&q=x", None, everyone, 200),
        ("get", "/ogc/collections", None, everyone, 200),
        ("get", "/imports", None, everyone, 200),
        ("get", f"/imports/{w.job.pk}", None, {"owner"}, 200),
        ("get", f"/artifact/{a}/shares", None, READS_A, ("owner only", 200)),
        ("post", f"/artifact/{a}/shares", {"user": "dave"}, READS_A, ("owner only", 201)),
        ("delete", f"/artifact/{a}/shares/{w.carol_a.pk}", None, READS_A, ("owner only", 204)),
        ("get", f"/calculations/{c}/shares", None, READS_C, ("owner only", 200)),
        ("post", f"/calculations/{c}/shares", {"group": "modellers"}, READS_C, ("owner only", 201)),
        ("delete", f"/calculations/{c}/shares/{w.carol_c.pk}", None, READS_C, ("owner only", 204)),
        ("patch", f"/calculations/{c}", {"labels": ["set-by-the-matrix"]}, READS_C, ("owner only", 200)),
        ("post", "/artifacts", "upload", everyone, 201),  # one's own upload
        ("delete", f"/artifact/{b}", None, READS_C, ("owner only", 204)),
        ("delete", f"/artifact/{a}", None, READS_A, ("owner only", 204)),
    ]


def expected_status(role, readers, answer) -> int:
    if role == "anonymous":
        return 401
    if role not in readers:
        return 404
    if isinstance(answer, tuple):
        return answer[1] if role == "owner" else 403
    return answer


def call(client, method, path, data):
    if data == "upload":
        return upload_file(client)
    return getattr(client, method)(path, data, format="json") if data else getattr(client, method)(path)


@pytest.mark.parametrize("role", ROLES)
def test_every_endpoint_and_method_answers_each_role_exactly(role, world, modellers, request):
    client = role_client(role, world, request)
    got, want = {}, {}
    for method, path, data, readers, answer in endpoints(world):
        key = f"{method.upper()} {path}"
        response = call(client, method, path, data)
        got[key] = response.status_code
        want[key] = expected_status(role, readers, answer)
        if response.status_code == 403:
            assert json.loads(body(response))["code"] == "read_only", key
    assert got == want
    if role != "owner":
        # Nothing a non-owner sent changed anything of the owner's.
        assert Artifact.objects.filter(owner=world.owner).count() == 2
        assert set(Share.objects.filter(user__username="carol").values_list("pk", flat=True)) == {world.carol_a.pk, world.carol_c.pk}
        assert not Share.objects.filter(user__username="dave").exists()
        assert not Share.objects.filter(calculation=world.c, group__isnull=False).exists()
        assert Calculation.objects.get(pk=world.c.pk).labels == ["kept"]


def _ids(client, path) -> set:
    response = client.get(path)
    assert response.status_code == 200
    doc = response.json()
    if "collections" in doc:
        return {int(item["id"]) for item in doc["collections"]}
    return {item["id"] for item in doc["results"]}


@pytest.mark.parametrize("role", [r for r in ROLES if r != "anonymous"])
def test_lists_hold_exactly_what_each_role_may_read(role, world, modellers, request):
    client = role_client(role, world, request)
    a, b, c = world.a.pk, world.b.pk, world.c.pk
    artifacts = {"owner": {a, b}, "calculation": {a, b}, "direct": {a}, "group": {a}, "everyone": {a}}.get(role, set())
    calculations = {c} if role in READS_C else set()
    own = role == "owner"
    assert _ids(client, "/artifacts") == artifacts
    assert _ids(client, f"/artifacts?calculation={c}") == artifacts
    assert _ids(client, "/artifacts?shared=true") == (set() if own else artifacts)
    assert _ids(client, "/artifacts?shared=false") == (artifacts if own else set())
    assert _ids(client, "/ogc/collections") == artifacts
    assert _ids(client, "/calculations") == calculations
    assert _ids(client, "/calculations?shared=true") == (set() if own else calculations)
    assert _ids(client, "/calculations?label=kept&mode=classical") == calculations
    assert _ids(client, "/calculations?label=other") == set()
    assert _ids(client, "/imports") == ({world.job.pk} if own else set())


# --- what the lists say ------------------------------------------------------------------------


def test_lists_say_whose_each_item_is_and_shared_filters_them(world, grantee_client, owner_client):
    world.share(calculation=world.c, user="grantee")
    [mine] = upload_file(grantee_client).json()["artifacts"]
    assert (mine["owner"], mine["access"]) == ("grantee", "owner")

    listed = {item["id"]: (item["owner"], item["access"]) for item in grantee_client.get("/artifacts").json()["results"]}
    assert listed == {mine["id"]: ("grantee", "owner"), world.a.pk: ("owner", "shared"), world.b.pk: ("owner", "shared")}
    assert _ids(grantee_client, "/artifacts?shared=true") == {world.a.pk, world.b.pk}
    assert _ids(grantee_client, "/artifacts?shared=false") == {mine["id"]}
    assert _ids(grantee_client, "/artifacts?shared=true&artifact_type=uhs") == {world.b.pk}

    [calc] = grantee_client.get("/calculations").json()["results"]
    assert (calc["owner"], calc["access"]) == ("owner", "shared")
    assert {a["id"] for a in calc["artifacts"]} == {world.a.pk, world.b.pk}
    detail = grantee_client.get(f"/calculations/{world.c.pk}").json()
    assert (detail["owner"], detail["access"]) == ("owner", "shared")
    assert {item["access"] for item in owner_client.get("/artifacts").json()["results"]} == {"owner"}


@pytest.mark.parametrize("path", ["/artifacts", "/calculations"])
@pytest.mark.parametrize("value", ["1", "yes", "True", ""])
def test_shared_takes_only_true_or_false(owner_client, path, value):
    response = owner_client.get(path, {"shared": value})
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_parameter"
    assert "shared must be true" in response.json()["detail"]


def test_sharing_with_a_group_one_owns_a_member_of_is_still_the_owners_own(world, owner, owner_client, modellers):
    owner.groups.add(modellers)
    world.share(artifact=world.a, group="modellers")
    world.share(artifact=world.a, everyone=True)
    assert _ids(owner_client, "/artifacts?shared=true") == set()
    assert _ids(owner_client, "/artifacts?shared=false") == {world.a.pk, world.b.pk}


def test_an_artifact_added_to_a_shared_calculation_is_readable_at_once(world, owner, grantee_client):
    world.share(calculation=world.c, user="grantee")
    [later] = artifact_upload(owner=owner, file_name="hazard_curve-mean-PGA_2.csv", data=fixture_bytes("hazard_curve-mean-PGA_2.csv"))
    assert grantee_client.get(f"/artifact/{later.pk}").status_code == 404
    ImportedOutput.objects.create(calculation=world.c, output_id=3, output_type="hcurves", export_name="x.zip", file_name=later.file_name, artifact=later)
    assert grantee_client.get(f"/artifact/{later.pk}").status_code == 200


# --- revoking ----------------------------------------------------------------------------------

REVOCABLE = [
    "/artifact/{a}",
    "/artifact/{a}/site?" + SITE,
    "/compare/summary?a={a}&b={a}",
    "/artifact/{a}?tile=0/0/0",
    "/artifact/{a}/raw",
    "/artifact/{a}/tiles/0/0/0.mvt",
    "/artifact/{a}/tiles.json",
    "/ogc/collections/{a}/items",
    "/ogc/collections/{a}/items/0",
]


@pytest.mark.parametrize(
    "grantee_kind, client_fixture",
    [("user", "grantee_client"), ("group", "member_client"), ("everyone", "other_client"), ("calculation", "grantee_client")],
)
def test_a_revoked_share_is_a_404_at_once_like_a_missing_id(world, owner_client, modellers, request, grantee_kind, client_fixture):
    client = request.getfixturevalue(client_fixture)
    if grantee_kind == "calculation":
        share_url = f"/calculations/{world.c.pk}/shares"
        response = owner_client.post(share_url, {"user": "grantee"}, format="json")
    else:
        share_url = f"/artifact/{world.a.pk}/shares"
        value = {"user": "grantee", "group": "modellers", "everyone": True}[grantee_kind]
        response = owner_client.post(share_url, {grantee_kind: value}, format="json")
    assert response.status_code == 201
    share = response.json()
    paths = [p.format(a=world.a.pk) for p in REVOCABLE]
    etags = {}
    for path in paths:
        before = client.get(path)
        assert before.status_code == 200, path
        etags[path] = before["ETag"]

    assert owner_client.delete(share["url"]).status_code == 204
    assert not Share.objects.filter(pk=share["id"]).exists()
    missing = world.a.pk + 1000
    for path in paths:
        after = client.get(path)
        assert after.status_code == 404, path
        # Even revalidating what it read a moment ago: no 304 telling it still exists.
        assert client.get(path, HTTP_IF_NONE_MATCH=etags[path]).status_code == 404
        assert after.json()["detail"].replace(str(world.a.pk), "N") == client.get(path.replace(str(world.a.pk), str(missing))).json()[
            "detail"
        ].replace(str(missing), "N")
    assert _ids(client, "/artifacts") == set()
    assert owner_client.delete(share["url"]).status_code == 404


def test_leaving_the_group_ends_its_shares_at_once(world, member, member_client, modellers):
    world.share(artifact=world.a, group="modellers")
    assert member_client.get(f"/artifact/{world.a.pk}/tiles/0/0/0.mvt").status_code == 200
    member.groups.remove(modellers)
    assert member_client.get(f"/artifact/{world.a.pk}/tiles/0/0/0.mvt").status_code == 404


def test_deleting_the_artifact_removes_its_shares(world, owner_client, grantee_client):
    world.share(artifact=world.a, user="grantee")
    assert owner_client.delete(f"/artifact/{world.a.pk}").status_code == 204
    assert not Share.objects.filter(artifact_id=world.a.pk).exists()
    assert grantee_client.get(f"/artifact/{world.a.pk}").status_code == 404


# --- managing shares ---------------------------------------------------------------------------


def test_the_owner_lists_adds_and_revokes_shares(world, owner_client, modellers):
    url = f"/artifact/{world.a.pk}/shares"
    for grantee in [{"user": "grantee"}, {"group": "modellers"}, {"everyone": True}]:
        get_user_model().objects.get_or_create(username="grantee")
        response = owner_client.post(url, grantee, format="json")
        assert response.status_code == 201, response.json()
        assert response["Location"] == response.json()["url"]
    listed = owner_client.get(url).json()
    assert listed["count"] == 4
    rows = [{k: s[k] for k in ("artifact", "calculation", "user", "group", "everyone")} for s in listed["results"]]
    assert rows == [
        {"artifact": world.a.pk, "calculation": None, "user": "carol", "group": None, "everyone": False},
        {"artifact": world.a.pk, "calculation": None, "user": "grantee", "group": None, "everyone": False},
        {"artifact": world.a.pk, "calculation": None, "user": None, "group": "modellers", "everyone": False},
        {"artifact": world.a.pk, "calculation": None, "user": None, "group": None, "everyone": True},
    ]
    assert listed["results"][1]["url"] == f"http://testserver/artifact/{world.a.pk}/shares/{listed['results'][1]['id']}"
    calc_share = owner_client.post(f"/calculations/{world.c.pk}/shares", {"everyone": True}, format="json").json()
    assert calc_share["calculation"] == world.c.pk and calc_share["artifact"] is None
    assert calc_share["url"] == f"http://testserver/calculations/{world.c.pk}/shares/{calc_share['id']}"


def test_sharing_twice_returns_the_same_share(world, owner_client, grantee):
    url = f"/artifact/{world.a.pk}/shares"
    first = owner_client.post(url, {"user": "grantee"}, format="json")
    again = owner_client.post(url, {"user": "grantee"}, format="json")
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    assert Share.objects.filter(artifact=world.a, user=grantee).count() == 1


@pytest.mark.parametrize(
    "data, message",
    [
        ({"user": "bob"}, "no user named 'bob'"),
        ({"group": "nobody-here"}, "no group named 'nobody-here'"),
        ({"user": "gran\x00tee"}, "no user named 'gran\\x00tee'"),  # PostgreSQL refuses NUL in any text
        ({"group": "model\x00lers"}, "no group named 'model\\x00lers'"),
        ({"user": "owner"}, "you cannot share with yourself"),
        ({}, "give exactly one grantee"),
        ({"user": "grantee", "everyone": True}, "give exactly one grantee"),
        ({"everyone": False}, "everyone must be true"),
        ({"everyone": "yes"}, "everyone must be true"),
        ({"user": 7}, "user must be a user name"),
        ({"user": ""}, "user must be a user name"),
        ({"username": "grantee"}, "unknown field(s) username"),
        (["grantee"], "send a JSON object"),
    ],
)
def test_a_bad_share_is_a_400_naming_the_problem_and_writes_nothing(world, owner_client, grantee, data, message):
    before = Share.objects.count()
    for url in [f"/artifact/{world.a.pk}/shares", f"/calculations/{world.c.pk}/shares"]:
        response = owner_client.post(url, data, format="json")
        assert response.status_code == 400
        assert response.json()["code"] == "invalid_parameter"
        assert message in response.json()["detail"]
    assert Share.objects.count() == before


def test_a_share_of_another_target_is_404_under_this_one(world, owner, owner_client):
    [other_artifact] = artifact_upload(owner=owner, file_name=UHS, data=fixture_bytes(UHS))
    assert owner_client.delete(f"/artifact/{other_artifact.pk}/shares/{world.carol_a.pk}").status_code == 404
    assert owner_client.delete(f"/calculations/{world.c.pk}/shares/{world.carol_a.pk}").status_code == 404
    assert owner_client.delete(f"/artifact/{world.a.pk}/shares/{world.carol_c.pk}").status_code == 404
    assert Share.objects.filter(pk__in=[world.carol_a.pk, world.carol_c.pk]).count() == 2


def test_a_grantee_never_sees_the_other_grantees(world, grantee_client):
    world.share(calculation=world.c, user="grantee")
    for path in [f"/artifact/{world.a.pk}/shares", f"/calculations/{world.c.pk}/shares"]:
        response = grantee_client.get(path)
        assert response.status_code == 403
        assert response.json() == {"detail": response.json()["detail"], "code": "read_only"}
        assert "read-only" in response.json()["detail"]
    # carol has shares of both; nothing the grantee reads names her.
    for path in ["/artifacts", f"/calculations/{world.c.pk}", "/calculations", f"/artifact/{world.a.pk}/tiles.json", "/ogc/collections"]:
        response = grantee_client.get(path)
        assert response.status_code == 200
        assert b"carol" not in body(response), path


def test_a_grantee_cannot_reshare(world, grantee_client):
    world.share(artifact=world.a, user="grantee")
    response = grantee_client.post(f"/artifact/{world.a.pk}/shares", {"everyone": True}, format="json")
    assert response.status_code == 403 and response.json()["code"] == "read_only"
    assert not Share.objects.filter(everyone=True).exists()


def test_services_refuse_sharing_what_the_sharer_does_not_own(world, grantee):
    from core.exceptions import ReadOnly

    with pytest.raises(ReadOnly):
        services.share_create(sharer=grantee, artifact=world.a, everyone=True)
    with pytest.raises(ReadOnly):
        services.share_revoke(sharer=grantee, share=world.carol_a)
    assert Share.objects.filter(pk=world.carol_a.pk).exists() and not Share.objects.filter(everyone=True).exists()


# --- staff -------------------------------------------------------------------------------------


def test_staff_read_only_what_is_shared_with_them_and_never_write_others_data(world, staff, staff_client):
    # is_staff grants imports on behalf of others and the admin site, not others' data in the API.
    assert staff_client.get(f"/artifact/{world.a.pk}").status_code == 404
    assert staff_client.delete(f"/artifact/{world.a.pk}").status_code == 404
    assert staff_client.get(f"/calculations/{world.c.pk}").status_code == 404
    world.share(artifact=world.a, user="staff")
    assert staff_client.get(f"/artifact/{world.a.pk}").status_code == 200
    assert staff_client.delete(f"/artifact/{world.a.pk}").status_code == 403
    assert staff_client.get(f"/artifact/{world.a.pk}/shares").status_code == 403
    assert Artifact.objects.filter(pk=world.a.pk).exists()


def test_the_admin_lists_shares_and_can_revoke_but_not_add_them(world, client):
    admin = get_user_model().objects.create_superuser("admin", password="admin-password-1")
    client.force_login(admin)
    response = client.get("/admin/sharing/share/")
    assert response.status_code == 200 and b"carol" in response.content
    assert client.get("/admin/sharing/share/add/").status_code == 403
    response = client.post("/admin/sharing/share/", {"action": "delete_selected", "_selected_action": [world.carol_a.pk], "post": "yes"})
    assert response.status_code == 302
    assert not Share.objects.filter(pk=world.carol_a.pk).exists()


# --- the table ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fields",
    [
        {"user": "grantee"},  # no target
        {"artifact": "a", "calculation": "c", "user": "grantee"},  # two targets
        {"artifact": "a"},  # no grantee
        {"artifact": "a", "user": "grantee", "everyone": True},  # two grantees
        {"artifact": "a", "user": "grantee", "group": "modellers"},
    ],
)
def test_the_table_refuses_a_share_without_exactly_one_target_and_one_grantee(world, grantee, modellers, fields):
    values = {"a": world.a, "c": world.c, "grantee": grantee, "modellers": modellers}
    row = {k: (values[v] if isinstance(v, str) else v) for k, v in fields.items()}
    with pytest.raises(IntegrityError, match="sharing_share_one_"), transaction.atomic():
        Share.objects.create(**row)


@pytest.mark.parametrize("target", ["artifact", "calculation"])
@pytest.mark.parametrize("grantee_field", ["user", "group", "everyone"])
def test_the_table_refuses_a_duplicate_share(world, grantee, modellers, target, grantee_field):
    row = {target: world.a if target == "artifact" else world.c, grantee_field: {"user": grantee, "group": modellers, "everyone": True}[grantee_field]}
    Share.objects.create(**row)
    with pytest.raises(IntegrityError, match=f"sharing_share_{target}_{grantee_field}_unique"), transaction.atomic():
        Share.objects.create(**row)


# --- cost on the hot paths ---------------------------------------------------------------------


def test_a_shared_tile_costs_one_artifact_lookup(world, grantee_client):
    world.share(calculation=world.c, user="grantee")
    with CaptureQueriesContext(connection) as queries:
        assert grantee_client.get(f"/artifact/{world.b.pk}/tiles/0/0/0.mvt").status_code == 200
    # The tile statement itself checks that the artifact is still there (geo.selectors.vector_tile): not a lookup.
    # Prepared statements (core.prepared) are read as the SQL they run.
    sent = [prepared.sent_sql(q["sql"]) for q in queries.captured_queries]
    lookups = [sql for sql in sent if 'FROM "icebox_artifact"' in sql and "ST_AsMVT" not in sql]
    assert len(lookups) == 1, lookups


def test_listing_shared_artifacts_costs_the_same_queries_for_one_or_many(world, owner, grantee_client):
    world.share(calculation=world.c, user="grantee")

    def count():
        with CaptureQueriesContext(connection) as queries:
            assert grantee_client.get("/artifacts").status_code == 200
        return len(queries.captured_queries)

    # The user's first request of a throttle window also sweeps expired windows: open it first.
    count()
    few = count()
    for _ in range(3):
        [extra] = artifact_upload(owner=owner, file_name=MAP, data=fixture_bytes(MAP))
        world.share(artifact=extra, user="grantee")
    assert count() == few


def _plan(queryset) -> str:
    return queryset.explain()


def test_the_readable_lookup_is_index_probes_not_scans(owner, grantee, modellers):
    """With many artifacts, calculations, shares and group memberships, and ANALYZEd tables, the
    lookup by id of a shared artifact touches every table through an index."""
    from icebox.selectors import readable_artifact
    from sharing.selectors import artifact_readable

    User = get_user_model()
    users = User.objects.bulk_create([User(username=f"u{i}") for i in range(500)])
    User.groups.through.objects.bulk_create([User.groups.through(user_id=u.pk, group_id=modellers.pk) for u in users])
    blob = Blob.objects.create(sha256="0" * 64, size=1)  # rows only: no test here reads the bytes
    artifacts = Artifact.objects.bulk_create(
        [Artifact(owner=users[i % 500], blob=blob, artifact_type="hazard_map", name=f"a{i}", file_name="x.csv", content_type="text/csv", size=1, sha256="0")
         for i in range(3000)]
    )
    calcs = Calculation.objects.bulk_create([Calculation(owner=users[i % 500], engine_url="http://e", calc_id=i + 1) for i in range(600)])
    ImportedOutput.objects.bulk_create(
        [ImportedOutput(calculation=calcs[i % 600], output_id=i, output_type="hmaps", export_name="e", file_name="f", artifact=a) for i, a in enumerate(artifacts)]
    )
    Share.objects.bulk_create([Share(artifact=a, user=users[(i + 1) % 500]) for i, a in enumerate(artifacts)])
    Share.objects.bulk_create([Share(calculation=c, group=modellers) for c in calcs[:300]])
    Share.objects.bulk_create([Share(artifact=a, everyone=True) for a in artifacts[:100]])
    Share.objects.create(calculation=calcs[450], user=grantee)
    with connection.cursor() as cursor:
        for table in ["icebox_artifact", "engine_calculation", "engine_importedoutput", "sharing_share", "auth_user_groups"]:
            cursor.execute(f"ANALYZE {table}")

    target = artifacts[450]  # shared with grantee through calcs[450] only
    assert readable_artifact(user=grantee, artifact_id=target.pk).artifact == target
    for plan in [_plan(Artifact.objects.filter(artifact_readable(grantee), pk=target.pk)), _lookup_plan(grantee, target.pk)]:
        assert "Seq Scan" not in plan, plan
        assert "Index Scan using icebox_artifact_pkey" in plan, plan


def _lookup_plan(user, artifact_id) -> str:
    """The plan of the statement readable_artifact sends (fixed text, not a queryset)."""
    from icebox.selectors import readable_artifact

    readable_artifact(user=user, artifact_id=artifact_id)  # prepared (core.prepared): later lookups EXECUTE it alone
    with CaptureQueriesContext(connection) as queries:
        readable_artifact(user=user, artifact_id=artifact_id)
    [sql] = [q["sql"] for q in queries.captured_queries]
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + sql)
        return "\n".join(row[0] for row in cursor.fetchall())


def test_the_readable_condition_holds_when_its_queryset_is_a_subquery(world, grantee):
    """The SQL condition names the filtered table by the alias the query gives it (U0 in a subquery)."""
    from engine.selectors import calculation_list
    from icebox.selectors import artifact_list

    world.share(artifact=world.a, user="grantee")
    readable = artifact_list(user=grantee).values("pk")
    assert 's."artifact_id" = U0."id"' in str(Artifact.objects.filter(pk__in=readable).query)
    assert set(Artifact.objects.filter(pk__in=readable).values_list("pk", flat=True)) == {world.a.pk}
    assert not Calculation.objects.filter(pk__in=calculation_list(user=grantee).values("pk")).exists()
    world.share(calculation=world.c, user="grantee")
    assert set(Artifact.objects.filter(pk__in=artifact_list(user=grantee).values("pk")).values_list("pk", flat=True)) == {world.a.pk, world.b.pk}
    assert list(Calculation.objects.filter(pk__in=calculation_list(user=grantee).values("pk"))) == [world.c]


@pytest.mark.parametrize("client_fixture", ["other_client", "staff_client"])
@pytest.mark.parametrize(
    "method, path",
    [
        ("get", "/artifact/{a}/shares"),
        ("post", "/artifact/{a}/shares"),
        ("delete", "/artifact/{a}/shares/{share}"),
        ("get", "/calculations/{c}/shares"),
        ("post", "/calculations/{c}/shares"),
        ("delete", "/calculations/{c}/shares/{share}"),
        ("get", "/calculations/{c}"),
    ],
)
def test_share_endpoints_of_what_is_not_shared_answer_like_a_missing_id(world, request, client_fixture, method, path):
    client = request.getfixturevalue(client_fixture)
    share = world.carol_a.pk if "/artifact/" in path else world.carol_c.pk
    target = str(world.a.pk if "/artifact/" in path else world.c.pk)
    data = {"everyone": True} if method == "post" else None
    response = getattr(client, method)(path.format(a=world.a.pk, c=world.c.pk, share=share), data, format="json")
    missing = getattr(client, method)(path.format(a=999999, c=999999, share=share), data, format="json")
    assert (response.status_code, missing.status_code) == (404, 404)
    assert response.json()["detail"].replace(target, "N") == missing.json()["detail"].replace("999999", "N")
    assert Share.objects.count() == 2
