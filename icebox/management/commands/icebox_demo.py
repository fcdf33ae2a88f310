"""Create the demo user, give it the real engine exports in fixtures/, and print its token.

Idempotent: a second run loads nothing and prints the same token.
"""

from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from rest_framework.authtoken.models import Token

from icebox.models import Artifact
from icebox.services import artifact_upload

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

    def handle(self, *args, username, **options):
        user, created = get_user_model().objects.get_or_create(username=username)
        if created:
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
