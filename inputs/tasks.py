"""Background task of a run (Django's Tasks API, as imports: engine/tasks.py)."""

from django_tasks import task

from inputs.runs import run_execute


@task()
def run_input(run_id: int) -> str:
    # The run row, not the task result, is what users see.
    return run_execute(run_id=run_id).status
