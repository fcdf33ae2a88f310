"""`manage.py icebox_demo`: the demo user of `make run`, its data, and the password that lets it log in."""

import io
import stat

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.test import Client

from icebox.models import Artifact

pytestmark = pytest.mark.django_db


def demo(*args) -> str:
    out = io.StringIO()
    call_command("icebox_demo", *args, stdout=out)
    return out.getvalue()


def test_without_a_password_file_the_demo_user_has_tokens_only():
    demo()
    user = get_user_model().objects.get(username="demo")
    assert not user.has_usable_password()
    assert Artifact.objects.filter(owner=user).count() > 0


def test_the_password_file_is_generated_private_and_logs_in(tmp_path):
    path = tmp_path / "var" / "demo_password"
    output = demo("--password-file", str(path))
    password = path.read_text().strip()
    assert len(password) >= 20
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert str(path) in output and password not in output
    assert Client().login(username="demo", password=password)


def test_a_second_run_keeps_the_password_and_loads_nothing(tmp_path):
    path = tmp_path / "demo_password"
    demo("--password-file", str(path))
    first = path.read_text()
    count = Artifact.objects.count()
    demo("--password-file", str(path))
    assert path.read_text() == first
    assert Artifact.objects.count() == count
    assert Client().login(username="demo", password=first.strip())


def test_an_existing_token_only_demo_user_gets_the_files_password(tmp_path):
    demo()
    path = tmp_path / "demo_password"
    path.write_text("chosen-by-the-admin-1\n")
    demo("--password-file", str(path))
    assert Client().login(username="demo", password="chosen-by-the-admin-1")


def test_a_password_changed_since_is_kept(tmp_path):
    path = tmp_path / "demo_password"
    demo("--password-file", str(path))
    user = get_user_model().objects.get(username="demo")
    user.set_password("changed-by-the-admin-2")
    user.save()
    demo("--password-file", str(path))
    assert Client().login(username="demo", password="changed-by-the-admin-2")


def test_an_empty_password_file_is_refused_before_anything_is_created(tmp_path):
    path = tmp_path / "demo_password"
    path.write_text("\n")
    with pytest.raises(CommandError, match="is empty"):
        demo("--password-file", str(path))
    assert not get_user_model().objects.filter(username="demo").exists()
