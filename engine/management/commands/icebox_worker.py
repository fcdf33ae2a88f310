"""`python manage.py icebox_worker`: run a background worker for imports.

A thin wrapper of django-tasks-db's `db_worker` (same options) that also does Icebox's
housekeeping (icebox.housekeeping) when it starts and every ICEBOX_HOUSEKEEPING_INTERVAL seconds:
imports whose worker died are marked failed while the other workers live, and temporary files
dead processes left are removed. Start as many as you like, on as many machines as reach the
database.
"""

import os

from django.conf import settings
from django.utils.autoreload import DJANGO_AUTORELOAD_ENV
from django_tasks_db.management.commands.db_worker import Command as DbWorkerCommand

from icebox import housekeeping


class Command(DbWorkerCommand):
    help = "Run an Icebox background worker (imports from engine servers). Options are those of db_worker."

    def handle(self, *args, **options):
        # With --reload the command runs twice: in a watching parent and in the child that
        # takes tasks. Only the child housekeeps.
        if options.get("reload") and os.environ.get(DJANGO_AUTORELOAD_ENV) != "true":
            return super().handle(*args, **options)
        cleared = housekeeping.sweep()
        if cleared.get("imports whose worker died"):
            self.stderr.write(f"marked {cleared['imports whose worker died']} import(s) failed: the worker running them had died")
        housekeeper = housekeeping.Housekeeper(interval=settings.ICEBOX_HOUSEKEEPING_INTERVAL)
        housekeeper.start()
        try:
            return super().handle(*args, **options)
        finally:
            housekeeper.stop()
