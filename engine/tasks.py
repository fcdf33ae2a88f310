"""Background tasks (Django's Tasks API through the django-tasks backport; see docs/import.md)."""

from django_tasks import task

from engine.services import import_job_run


@task()
def run_import(job_id: int) -> str:
    # The job row, not the task result, is what users see: failures are recorded there and
    # the task itself ends normally.
    return import_job_run(job_id=job_id).status
