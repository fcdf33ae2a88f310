"""`manage.py icebox_blobs_sweep`: remove the blobs and partial writes that failures left.

Safe at any time, beside running web processes and workers: only what no writer's lock covers is
removed (blobs.store). Workers also run it as a housekeeping step.
"""

from django.core.management.base import BaseCommand

from blobs import store


class Command(BaseCommand):
    help = "Remove orphaned blobs (bytes without a row, rows nothing references, partial writes), each only under its lock."

    def handle(self, *args, **options):
        removed = store.sweep()
        self.stdout.write(f"removed {removed} orphaned blob(s) or partial write(s)")
