"""Fixtures shared by the whole suite: the people every access test is about.

The owner, another user (nothing is shared with them), anonymous, staff (is_staff: imports for
others, nothing more in the API), and the roles sharing adds: a grantee (shared with directly) and
a member of the group "modellers" (shared with through the group).
"""

from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def _client_for(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


@pytest.fixture
def owner(db):
    return get_user_model().objects.create_user("owner", password="owner-password-1")


@pytest.fixture
def other_user(db):
    return get_user_model().objects.create_user("other", password="other-password-1")


@pytest.fixture
def owner_client(owner) -> APIClient:
    return _client_for(owner)


@pytest.fixture
def other_client(other_user) -> APIClient:
    return _client_for(other_user)


@pytest.fixture
def anon_client(db) -> APIClient:
    return APIClient()


@pytest.fixture
def staff(db):
    return get_user_model().objects.create_user("staff", password="staff-password-1", is_staff=True)


@pytest.fixture
def staff_client(staff) -> APIClient:
    return _client_for(staff)


@pytest.fixture
def grantee(db):
    return get_user_model().objects.create_user("grantee", password="grantee-password-1")


@pytest.fixture
def grantee_client(grantee) -> APIClient:
    return _client_for(grantee)


@pytest.fixture
def modellers(db):
    from django.contrib.auth.models import Group

    return Group.objects.create(name="modellers")


@pytest.fixture
def member(modellers):
    user = get_user_model().objects.create_user("member", password="member-password-1")
    user.groups.add(modellers)
    return user


@pytest.fixture
def member_client(member) -> APIClient:
    return _client_for(member)


@pytest.fixture(autouse=True)
def _drop_feature_partitions_after_committing_tests(request):
    """Tests that commit (transactional_db, live_server) end with a TRUNCATE, which empties the
    feature partitions but cannot drop them; drop them (not the shared one, which the migration
    made) so the next test starts from nothing."""
    yield
    marker = request.node.get_closest_marker("django_db")
    committed = marker is not None and (marker.kwargs.get("transaction") or (marker.args and marker.args[0]))
    if not committed and not {"transactional_db", "live_server"} & set(request.fixturenames):
        return
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT inhrelid::regclass::text FROM pg_inherits WHERE inhparent = 'geo_feature'::regclass AND inhrelid::regclass::text <> 'geo_feature_shared'"
        )
        for (table,) in cursor.fetchall():
            cursor.execute(f"DROP TABLE {table}")


@pytest.fixture(autouse=True)
def blob_directory(tmp_path_factory):
    """Each test's blobs in a fresh directory (also for the servers and workers it starts): a test
    sees exactly the bytes its own writes left, and a rolled-back test's leave nothing behind."""
    import os
    import shutil

    from django.test import override_settings

    path = tmp_path_factory.mktemp("blobs")
    before = {name: os.environ.get(name) for name in ("ICEBOX_BLOB_DIR", "ICEBOX_BLOB_STORE")}
    os.environ["ICEBOX_BLOB_DIR"] = str(path)
    os.environ.pop("ICEBOX_BLOB_STORE", None)
    with override_settings(STORAGES={**_settings_storages(), "blobs": filesystem_blobs(path)}):
        yield path
    # pytest keeps its last runs' directories: not the gigabytes a big-file test stored.
    shutil.rmtree(path, ignore_errors=True)
    for name, value in before.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


def filesystem_blobs(path) -> dict:
    return {"BACKEND": "blobs.backends.AtomicFileSystemStorage", "OPTIONS": {"location": str(path)}}


def _settings_storages() -> dict:
    from django.conf import settings

    return dict(settings.STORAGES)
