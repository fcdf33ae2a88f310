"""Background tasks (Django's Tasks API through the django-tasks backport; see docs/import.md)."""

from django_tasks import task

from engine.services import import_job_run, import_jobs_recover


@task()
def run_import(job_id: int) -> str:
    # Workers also sweep at start, but with several workers a dead one's job would otherwise
    # wait for the next restart; the sweep is one query when nothing is running.
    import_jobs_recover()
    # The job row, not the task result, is what users see: failures are recorded there and
    # the task itself ends normally.
    return import_job_run(job_id=job_id).status
