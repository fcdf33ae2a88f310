"""Create the demo user, give it the real engine exports in fixtures/, and print its token.

Idempotent: a second run loads nothing and prints the same token. With `--password-file`, the
demo user can also log in (the explorer and the admin need a session): the password is the
file's content, generated there on the first run, so it is never a default anyone can guess.
"""

import os
import secrets
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from rest_framework.authtoken.models import Token

from artifacts.services import artifact_upload
from icebox.models import Artifact

DEMO_FILES = [
    "calc2_output-9-hcurves-csv.zip",
    "calc2_output-10-hmaps-csv.zip",
    "calc2_output-11-hmaps-stats-csv.zip",
    "calc2_output-14-uhs-csv.zip",
    "calc8_output-53-hcurves-csv.zip",
]


class Command(BaseCommand):
    help = "Create the demo user with demo artifacts and print its API token."

    def add_arguments(self, parser):
        parser.add_argument("--username", default="demo")
        parser.add_argument(
            "--password-file",
            type=Path,
            help="the demo user's password: read from this file, written there (mode 600) first if missing",
        )

    def handle(self, *args, username, password_file, **options):
        password = _password(password_file) if password_file else None
        user, created = get_user_model().objects.get_or_create(username=username)
        # Only a user nobody can log in as gets the file's password: one an admin changed stays.
        if password is not None and (created or not user.has_usable_password()):
            user.set_password(password)
            user.save()
        elif created and password is None:
            # Token access only: nobody can log in to a session with a password nobody knows.
            user.set_unusable_password()
            user.save()
        if not Artifact.objects.filter(owner=user).exists():
            fixtures = Path(settings.BASE_DIR) / "fixtures"
            for name in DEMO_FILES:
                artifacts = artifact_upload(owner=user, file_name=name, data=(fixtures / name).read_bytes())
                self.stdout.write(f"loaded {name}: {len(artifacts)} artifact(s)")
        token, _ = Token.objects.get_or_create(user=user)
        count = Artifact.objects.filter(owner=user).count()
        self.stdout.write(f"demo user {username!r} has {count} artifacts; API token: {token.key}")
        self.stdout.write(f'try: curl -H "Authorization: Token {token.key}" http://127.0.0.1:8000/artifacts')
        if password is not None:
            self.stdout.write(f"explorer: http://127.0.0.1:8000/explore/ (log in as {username!r}, password in {password_file})")


def _password(path: Path) -> str:
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        # O_EXCL: two runs at once must not each write a different password.
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as out:
                out.write(secrets.token_urlsafe(18) + "\n")
    password = path.read_text().strip()
    if not password:
        raise CommandError(f"{path} is empty: remove it to have a new password generated")
    return password
