"""The worker's half of a run: submit the input model to the engine once, follow it, import its results.

A run goes queued -> submitting -> submitted/executing -> importing -> complete, or failed with
the reason (and the engine's traceback when the engine failed it). Each step is saved before the
next begins, so a worker that dies anywhere leaves a run another worker can take up
(`inputs.recovery`):
- before sending the archive the run is marked `submitting` in its own commit, and the job's
  description carries the run's marker (`[icebox run 17]`); a run taken up in that state looks
  for its calc in the engine's list by the marker before it submits, so the engine never gets it
  twice;
- once the engine has answered, its calc id is saved; from then on only polling is left;
- the results are imported by an ordinary import job (engine.runs, the same code path as
  `POST /artifacts/import`: all or nothing), then linked to the input model.
The deadline is ICEBOX_RUN_TIMEOUT_SECONDS from the submission, kept in the database, so a
restart neither resets nor shortens it.
"""

from __future__ import annotations

import logging
import shutil
import time
import zipfile
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.exceptions import IceboxError
from engine import runs as imports
from engine.client import EngineClient
from engine.exceptions import CalcNotFound, EngineFailure, EngineRunRefused
from engine.models import ImportJob, ImportStatus
from engine.servers import match_engine_url
from icebox import selectors as artifact_selectors
from icebox.tempfiles import locked_directory
from icebox.worker_locks import worker_lock
from inputs.models import ACTIVE_STATUSES, InputLink, LinkOrigin, Run, RunStatus
from inputs.overrides import described, with_overrides

log = logging.getLogger(__name__)

# Engine statuses after which a calc changes no more.
ENGINE_DONE = ("complete", "shared")
ENGINE_FAILED = ("failed", "aborted", "deleted")
# Session-level advisory locks held by the worker driving a run (imports use 0x1CEB << 40).
_LOCK_NAMESPACE = 0x1CEC << 40


def run_execute(*, run_id: int, sleep=time.sleep, on_progress=None) -> Run:
    """Drive a run to complete or failed. A run another worker is driving is left alone.

    `on_progress(run)` is called after every change of the run's row (icebox_run draws it)."""
    with run_lock(run_id) as locked:
        run = Run.objects.get(pk=run_id)
        if not locked or run.status not in ACTIVE_STATUSES:
            return run
        # Carried by the instance that every step saves, so each save can report itself.
        run.on_progress = on_progress
        try:
            _drive(run, sleep)
        except EngineRunRefused as exc:
            _fail(run, exc.message, traceback=exc.traceback, calc_id=exc.calc_id)
        except IceboxError as exc:
            _fail(run, exc.message)
        except Exception as exc:  # noqa: BLE001 - the run must end failed, whatever broke
            log.exception("run %s failed unexpectedly", run.pk)
            _fail(run, f"internal error ({type(exc).__name__}); the administrators can find it in the worker log")
        return run


def _drive(run: Run, sleep) -> None:
    server, _path = match_engine_url(run.engine_url, settings.ICEBOX_ENGINE_SERVERS)
    if run.status != RunStatus.IMPORTING:
        with EngineClient.from_settings(server) as client:
            if run.engine_calc_id is None:
                if run.submit_started is None or not _adopt(client, run):
                    _submit(client, run)
            _follow(client, run, sleep)
    _import(run)


def _submit(client: EngineClient, run: Run) -> None:
    _save(run, status=RunStatus.SUBMITTING, submit_started=timezone.now())
    with locked_directory(prefix="run-") as tmp:
        archive = _archive_for_engine(run, Path(tmp))
        # The engine picks the first extracted file whose base name ends with this (run_request
        # refused a name that would pick another).
        answer = client.submit(archive, job_ini=run.job_file.rsplit("/", 1)[-1], hazard_job_id=run.hazard_job_id)
    _save(run, status=RunStatus.SUBMITTED, engine_calc_id=answer["job_id"], engine_status=str(answer.get("status", "")))


def _adopt(client: EngineClient, run: Run) -> bool:
    """A worker died while submitting: did the engine get the job? Then that calc is this run's."""
    for calc in client.calc_list():
        if run.marker in str(calc.get("description", "")) and isinstance(calc.get("id"), int):
            _save(run, status=RunStatus.SUBMITTED, engine_calc_id=calc["id"], engine_status=str(calc.get("status", "")))
            return True
    return False


def _follow(client: EngineClient, run: Run, sleep) -> None:
    """Poll the calc's status until it is done; fail the run on the engine's failure or the deadline."""
    deadline = run.submit_started + timedelta(seconds=settings.ICEBOX_RUN_TIMEOUT_SECONDS)
    while True:
        try:
            status = str(client.calc_status(run.engine_calc_id).get("status", ""))
        except CalcNotFound:
            raise EngineFailure(f"the engine lost calc {run.engine_calc_id}: it answers 404 for it (removed?)") from None
        if status != run.engine_status:
            _save(run, engine_status=status, status=RunStatus.EXECUTING if status == "executing" else run.status)
        if status in ENGINE_DONE:
            return
        if status in ENGINE_FAILED:
            lines = client.calc_traceback(run.engine_calc_id)
            last = next((line.strip() for line in reversed(lines) if line.strip()), "")
            raise EngineRunRefused(
                f"the engine's calc {run.engine_calc_id} ended `{status}`" + (f": {last}" if last else ""),
                traceback=lines, calc_id=run.engine_calc_id,
            )
        if timezone.now() >= deadline:
            raise EngineFailure(
                f"calc {run.engine_calc_id} was still `{status}` {settings.ICEBOX_RUN_TIMEOUT_SECONDS} s after it was submitted "
                "(ICEBOX_RUN_TIMEOUT_SECONDS); it was left running on the engine, and can be imported when it completes"
            )
        sleep(settings.ICEBOX_RUN_POLL_SECONDS)


def _import(run: Run) -> None:
    """Import the completed calc (an ordinary import job), then link it to the input model."""
    job = run.import_job
    if job is None or (job.status == ImportStatus.FAILED and job.error == imports.WORKER_DIED):
        with transaction.atomic():
            job = ImportJob.objects.create(owner=run.owner, requested_by=run.owner, engine_url=run.engine_url, calc_id=run.engine_calc_id)
            _save(run, status=RunStatus.IMPORTING, import_job=job)
    if job.status in (ImportStatus.QUEUED, ImportStatus.RUNNING):
        job = imports.import_job_run(job_id=job.pk)
    job.refresh_from_db()
    if job.status != ImportStatus.DONE:
        raise EngineFailure(f"the engine completed calc {run.engine_calc_id}, but its import failed: {job.error}")
    with transaction.atomic():
        InputLink.objects.get_or_create(input_model=run.input_model, calculation=job.calculation, defaults={"origin": LinkOrigin.RUN})
        _save(run, status=RunStatus.COMPLETE, calculation=job.calculation, finished=timezone.now(), error="")


def _archive_for_engine(run: Run, tmp: Path) -> Path:
    """A copy of the stored archive whose job.ini has the run's overrides and marker."""
    model = run.input_model
    stored = tmp / "stored.zip"
    with stored.open("wb") as out:  # from the blob store in chunks: an archive is never read whole
        for chunk in artifact_selectors.artifact_bytes(artifact_selectors.readable_artifact(user=run.owner, artifact_id=model.archive_id)):
            out.write(chunk)
    path = tmp / "input.zip"
    with zipfile.ZipFile(stored) as source, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            if info.filename == run.job_file:
                text = source.read(info).decode("utf-8-sig")
                target.writestr(info, described(with_overrides(text, run.params), run.marker).encode())
            else:
                with source.open(info) as member, target.open(info, "w") as copy:
                    shutil.copyfileobj(member, copy, 1 << 20)
    return path


def _save(run: Run, **fields) -> None:
    for key, value in fields.items():
        setattr(run, key, value)
    run.save(update_fields=[*fields, "updated"])
    if getattr(run, "on_progress", None) is not None:
        run.on_progress(run)


def _fail(run: Run, message: str, *, traceback: list[str] | None = None, calc_id: int | None = None) -> None:
    fields = {"status": RunStatus.FAILED, "error": message, "traceback": traceback or [], "finished": timezone.now()}
    if calc_id is not None and run.engine_calc_id is None:
        fields["engine_calc_id"] = calc_id
    # After a dropped connection too: the run's row is saved on a new one.
    _save(run, **fields)


def run_lock(job_id: int) -> worker_lock:
    """`with run_lock(job_id) as locked:` the worker's lock on it (icebox.worker_locks)."""
    return worker_lock(_LOCK_NAMESPACE, job_id)
