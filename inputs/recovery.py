"""Runs whose worker died, taken up again (a housekeeping step, icebox.housekeeping).

The worker driving a run holds its advisory lock (inputs.runs.run_lock); PostgreSQL drops it
with the worker's connection, however it died. A run past `queued` whose lock is free has no
worker: it goes back to `queued` with a new task, and the worker that takes it resumes where the
run's row says it was (it never submits twice: inputs.runs).
"""

from __future__ import annotations

import logging

from django.db import transaction

from inputs.models import Run, RunStatus
from inputs.runs import run_lock
from inputs.tasks import run_input

log = logging.getLogger(__name__)

_TAKEN_UP = (RunStatus.SUBMITTING, RunStatus.SUBMITTED, RunStatus.EXECUTING, RunStatus.IMPORTING)


def runs_resume() -> int:
    resumed = 0
    for run_id in Run.objects.filter(status__in=_TAKEN_UP).values_list("pk", flat=True):
        with run_lock(run_id) as locked:
            if not locked:
                continue
            with transaction.atomic():
                # Back to queued with a new task: the next round does not queue it again.
                if Run.objects.filter(pk=run_id, status__in=_TAKEN_UP).update(status=RunStatus.QUEUED):
                    run_input.enqueue(run_id)
                    resumed += 1
    if resumed:
        log.warning("took up %d run(s) again: their worker had died", resumed)
    return resumed
