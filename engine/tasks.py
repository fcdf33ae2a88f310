"""Background tasks (Django's Tasks API through the django-tasks backport; see docs/import.md)."""

from django_tasks import task

from engine.runs import import_job_run, import_jobs_recover


@task()
def run_import(job_id: int) -> str:
    # Workers also do this at start and every ICEBOX_HOUSEKEEPING_INTERVAL (icebox.housekeeping);
    # here it costs one query when nothing is running, and a new import never waits behind a
    # dead worker's job for the next round.
    import_jobs_recover()
    # The job row, not the task result, is what users see: failures are recorded there and
    # the task itself ends normally.
    return import_job_run(job_id=job_id).status
