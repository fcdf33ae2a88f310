"""`python manage.py icebox_worker`: run a background worker for imports.

A thin wrapper of django-tasks-db's `db_worker` (same options) that first marks failed the
imports whose worker died, so that a crashed machine never leaves a job `running` forever.
Start as many as you like, on as many machines as reach the database.
"""

from django_tasks_db.management.commands.db_worker import Command as DbWorkerCommand

from engine.services import import_jobs_recover


class Command(DbWorkerCommand):
    help = "Run an Icebox background worker (imports from engine servers). Options are those of db_worker."

    def handle(self, *args, **options):
        recovered = import_jobs_recover()
        if recovered:
            self.stderr.write(f"marked {recovered} import(s) failed: the worker running them had died")
        return super().handle(*args, **options)
