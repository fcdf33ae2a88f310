"""The worker's half of an import: running a job, storing what it fetched, recovering jobs whose worker died.

An import runs in two phases:

1. fetch (network, no transaction): calc status, info, version, job parameters, outputs list,
   then every wanted output streamed to a temporary file, in its CSV export when the output
   offers one, else in the first format it offers (and the datastore when asked). Progress is
   saved as it goes. An output the engine fails to export (a 500 with its traceback) is listed
   in the job's `skipped` with the engine's reason, and the import goes on without it.
2. store (one transaction, no network): lock the Calculation row, read every download through
   the kind registry (parsed where a kind reads it, else kept raw) and store each file as an
   artifact with its provenance, mark the job done.

So an import is all or nothing per calculation, apart from the outputs the engine could not
export: an engine that dies mid-download, a malformed file or a killed worker leaves no
artifact, bytes or feature partition, and running the same import again starts clean (and tries
the skipped outputs again). The row lock plus the unique provenance key make it idempotent,
also when two imports of one calc run at once: the second waits, then reuses what the first
stored. See docs/import.md for why.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime
from typing import Callable

from django.conf import settings
from django.db import transaction
from django.utils import timezone

import kinds
from artifacts.services import artifact_create
from blobs import store as blob_store
from core.exceptions import IceboxError
from engine import labels
from engine.client import Download, EngineClient
from engine.exceptions import CalcNotComplete, EngineFailure, EngineHTTPError
from engine.models import Calculation, ImportedOutput, ImportJob, ImportStatus
from engine.servers import EngineServerConfig, match_engine_url
from engine.timestamps import parse_engine_time
from icebox.tempfiles import locked_directory
from icebox.worker_locks import worker_lock
from kinds.base import ParseError

log = logging.getLogger(__name__)

# `shared` is a complete calc its owner made visible to others.
COMPLETE_STATUSES = ("complete", "shared")
# The datastore is no output of the engine's list: its provenance rows carry this output id
# (the engine numbers outputs from 1).
DATASTORE_OUTPUT_ID = 0
DATASTORE = {"id": DATASTORE_OUTPUT_ID, "type": "datastore", "name": "Datastore", "outtypes": ["hdf5"]}
# Session-level advisory locks held by the worker running a job: key = namespace + job id.
_LOCK_NAMESPACE = 0x1CEB << 40
PROGRESS_SAVE_SECONDS = 0.5

ProgressCallback = Callable[[ImportJob], None]

# What apps above this one do with an output an import stored, in the store's transaction (the
# inputs app makes a calc's `input` output an input model): hook(calculation=, output=,
# download=, artifacts=). A hook's exception fails the import, like any other store failure.
_OUTPUT_STORED: list[Callable[..., None]] = []


def on_output_stored(hook: Callable[..., None]) -> None:
    if hook not in _OUTPUT_STORED:
        _OUTPUT_STORED.append(hook)


# -- running an import ---------------------------------------------------------------------------


def import_job_run(*, job_id: int, on_progress: ProgressCallback | None = None) -> ImportJob:
    """Run a queued job to done or failed. A job already claimed by another worker is left alone."""
    with _job_lock(job_id) as locked:
        job = ImportJob.objects.get(pk=job_id)
        if not locked:
            return job
        with transaction.atomic():
            job = ImportJob.objects.select_for_update().get(pk=job_id)
            if job.status != ImportStatus.QUEUED:
                return job
            job.status = ImportStatus.RUNNING
            job.started = timezone.now()
            job.save(update_fields=["status", "started", "updated"])
        progress = _Progress(job, on_progress)
        try:
            _run(job, progress)
        except (IceboxError, ParseError) as exc:
            _fail(job, str(exc) if isinstance(exc, ParseError) else exc.message)
        except Exception as exc:  # noqa: BLE001 - the job must end failed, whatever broke
            log.exception("import %s failed unexpectedly", job.pk)
            _fail(job, f"internal error ({type(exc).__name__}); nothing was stored. The administrators can find it in the worker log.")
        progress.emit()
        return job


def _run(job: ImportJob, progress: _Progress) -> None:
    server = _configured_server(job.engine_url)
    with EngineClient.from_settings(server) as client, locked_directory(prefix="import-") as tmp:
        status = client.calc_status(job.calc_id)
        calc_status = status.get("status") if isinstance(status, dict) else None
        if calc_status not in COMPLETE_STATUSES:
            raise CalcNotComplete(f"calc {job.calc_id} is `{calc_status}`, not complete: only complete calcs can be imported")
        info = client.calc_info(job.calc_id)
        calc = {
            "engine_version": client.engine_version(),
            "description": str(info.get("description") or status.get("description") or ""),
            "calculation_mode": str(info.get("calculation_mode") or status.get("calculation_mode") or ""),
            "status": calc_status,
            "start_time": parse_engine_time(info.get("start_time") or status.get("start_time")),
            "stop_time": parse_engine_time(info.get("stop_time")),
            "oqparam": client.oqparam(job.calc_id),
            # The calc list's item, which /status is, has the tags; /v1/calc/ID (info) has not.
            "engine_tags": labels.engine_tags(status.get("tags")),
        }
        wanted, skipped = select_outputs(client.results(job.calc_id), job.outputs, job.calc_id)
        if job.datastore:
            wanted.append(DATASTORE)
        progress.set(outputs_total=len(wanted), skipped=skipped)

        already = set(
            ImportedOutput.objects.filter(
                calculation__owner=job.owner, calculation__engine_url=job.engine_url, calculation__calc_id=job.calc_id
            ).values_list("output_id", flat=True)
        )
        downloads: dict[int, Download] = {}
        fetched = []
        for output in wanted:
            if output["id"] not in already:  # imported before: reused below, not fetched again
                try:
                    downloads[output["id"]] = _fetch(client, job, output, tmp, progress)
                except EngineHTTPError as exc:
                    if exc.status != 500:
                        raise
                    # The engine's exporter broke on this output (the first line of its answer,
                    # `DataStoreExportError: ...`, is the reason); everything else is still worth
                    # keeping, and the next import of this calc tries it again.
                    skipped.append({**_entry(output), "reason": f"the engine failed to export it: {exc.message}"})
                    progress.set(outputs_done=progress.job.outputs_done + 1, skipped=skipped)
                    continue
            fetched.append(output)
            progress.set(outputs_done=progress.job.outputs_done + 1)
        progress.save()
        _store(job, server, calc, fetched, downloads)


def _fetch(client: EngineClient, job: ImportJob, output: dict, tmp, progress: _Progress) -> Download:
    if output["id"] == DATASTORE_OUTPUT_ID:
        return client.datastore(calc_id=job.calc_id, dest_dir=tmp, max_bytes=settings.ICEBOX_ENGINE_MAX_DATASTORE_BYTES,
                                on_size=progress.add_total, on_bytes=progress.add_bytes)
    return client.download(calc_id=job.calc_id, output_id=output["id"], export_type=export_type(output), dest_dir=tmp,
                           on_size=progress.add_total, on_bytes=progress.add_bytes)


def export_type(output: dict) -> str:
    """The CSV export when the output offers one (what the kinds parse), else the first it offers."""
    offered = [t for t in output.get("outtypes") or [] if isinstance(t, str)]
    return "csv" if "csv" in offered or not offered else offered[0]


def _entry(output: dict) -> dict:
    return {"output_id": output.get("id"), "type": output.get("type"), "name": output.get("name")}


def select_outputs(outputs: list[dict], requested: list[str], calc_id: int) -> tuple[list[dict], list[dict]]:
    """The outputs to fetch (every one when `requested` is empty), and those left out with why."""
    wanted, skipped = [], []
    for output in outputs:
        if requested and output.get("type") not in requested:
            skipped.append({**_entry(output), "reason": "not requested"})
        elif isinstance(output.get("outtypes"), list) and not [t for t in output["outtypes"] if isinstance(t, str)]:
            skipped.append({**_entry(output), "reason": "the engine offers no export of it"})
        else:
            wanted.append(output)
    listed = {o.get("type") for o in outputs}
    for kind in requested:
        if kind not in listed:
            skipped.append({"output_id": None, "type": kind, "name": None, "reason": f"calc {calc_id} has no `{kind}` output"})
    return wanted, skipped


def _store(job: ImportJob, server: EngineServerConfig, calc: dict, wanted: list[dict], downloads: dict[int, Download]) -> None:
    # blobs.store.atomic: the bytes written for a store that fails go with its rollback.
    with blob_store.atomic():
        calculation, _ = Calculation.objects.get_or_create(owner=job.owner, engine_url=job.engine_url, calc_id=job.calc_id)
        # Serialises imports of one calc for one owner: the second waits here, then reuses.
        calculation = Calculation.objects.select_for_update().get(pk=calculation.pk)
        calculation.labels = labels.merged_with_engine_tags(calculation.labels, before=calculation.engine_tags, now=calc["engine_tags"])
        for key, value in calc.items():
            setattr(calculation, key, value)
        calculation.save()
        artifacts = []
        for output in wanted:
            existing = [row.artifact for row in ImportedOutput.objects.filter(calculation=calculation, output_id=output["id"]).select_related("artifact")]
            if existing:
                artifacts += existing
                continue
            download = downloads.get(output["id"])
            if download is None:
                raise EngineFailure(f"output {output['id']} was removed from Icebox while this import ran; import again")
            artifacts += _store_output(job, server, calculation, output, download)
        job.calculation = calculation
        job.status = ImportStatus.DONE
        job.finished = timezone.now()
        job.error = ""
        job.save()
        job.artifacts.set(artifacts)


def _store_output(job, server, calculation: Calculation, output: dict, download: Download) -> list:
    # Every file of the export becomes an artifact: parsed where a kind reads it, else kept raw.
    # From the temporary file: only what a kind parses is read whole; a raw file is stored from it.
    tables = kinds.read_export(
        download.file_name, download.path, output_type=output["type"], max_uncompressed=settings.ICEBOX_MAX_UNCOMPRESSED_BYTES,
        sha256=download.sha256,
    )
    artifacts = []
    for table in tables:
        source = {
            "engine_url": server.base_url,
            "engine_version": calculation.engine_version,
            "calc_id": calculation.calc_id,
            "calculation": calculation.pk,
            "output_id": output["id"],
            "output_type": output["type"],
            "output_name": output.get("name"),
            "export_name": download.file_name,
            "export_type": export_type(output),
            "file_name": table.file_name,
            "description": calculation.description,
            "calculation_mode": calculation.calculation_mode,
            "start_time": _iso(calculation.start_time),
            "stop_time": _iso(calculation.stop_time),
            "job_parameters": calculation.oqparam,
        }
        artifact = artifact_create(owner=job.owner, table=table, metadata={"source": source})
        ImportedOutput.objects.create(
            calculation=calculation,
            output_id=output["id"],
            output_type=output["type"],
            export_name=download.file_name[:255],
            file_name=table.file_name[:255],
            artifact=artifact,
        )
        artifacts.append(artifact)
    for hook in _OUTPUT_STORED:
        hook(calculation=calculation, output=output, download=download, artifacts=artifacts)
    return artifacts


def _configured_server(engine_url: str) -> EngineServerConfig:
    # Looked up again at run time: the credentials live in the worker's settings, never in the
    # database, and a server removed from the allow-list since the request is no longer contacted.
    server, _path = match_engine_url(engine_url, settings.ICEBOX_ENGINE_SERVERS)
    return server


def _fail(job: ImportJob, message: str) -> None:
    job.status = ImportStatus.FAILED
    job.error = f"{message} (nothing was stored for this import)"
    job.finished = timezone.now()
    # After a dropped connection too: the store's atomic block closed it, this opens a new one.
    job.save(update_fields=["status", "error", "finished", "updated", "outputs_done", "outputs_total", "bytes_done", "bytes_total", "skipped"])


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


class _Progress:
    """Saves the job's counters as they change, at most every PROGRESS_SAVE_SECONDS for bytes."""

    def __init__(self, job: ImportJob, callback: ProgressCallback | None):
        self.job = job
        self.callback = callback
        self._saved = 0.0

    def set(self, **fields) -> None:
        for key, value in fields.items():
            setattr(self.job, key, value)
        self.save()

    def add_total(self, size: int | None) -> None:
        if size:
            self.job.bytes_total += size

    def add_bytes(self, count: int) -> None:
        self.job.bytes_done += count
        if time.monotonic() - self._saved >= PROGRESS_SAVE_SECONDS:
            self.save()

    def save(self) -> None:
        self._saved = time.monotonic()
        fields = ["outputs_done", "outputs_total", "bytes_done", "bytes_total", "skipped"]
        ImportJob.objects.filter(pk=self.job.pk).update(updated=timezone.now(), **{f: getattr(self.job, f) for f in fields})
        self.emit()

    def emit(self) -> None:
        if self.callback is not None:
            self.callback(self.job)


# -- jobs whose worker died ----------------------------------------------------------------------

WORKER_DIED = "the worker running this import stopped before it finished (killed or crashed); nothing was stored: import again"


def import_jobs_recover() -> int:
    """Mark failed every `running` job whose worker is gone; returns how many.

    The worker running a job holds a PostgreSQL session-level advisory lock on it; PostgreSQL
    releases it when the worker's connection ends, however the worker died. So a running job
    whose lock can be taken has no worker: no clock, heartbeat or timeout to tune.
    """
    recovered = 0
    for job_id in ImportJob.objects.filter(status=ImportStatus.RUNNING).values_list("pk", flat=True):
        with _job_lock(job_id) as locked:
            if locked:
                recovered += ImportJob.objects.filter(pk=job_id, status=ImportStatus.RUNNING).update(
                    status=ImportStatus.FAILED, error=WORKER_DIED, finished=timezone.now(), updated=timezone.now()
                )
    if recovered:
        log.warning("marked %d import(s) failed: their worker had died", recovered)
    return recovered


def _job_lock(job_id: int) -> worker_lock:
    """`with _job_lock(job_id) as locked:` the worker's lock on it (icebox.worker_locks)."""
    return worker_lock(_LOCK_NAMESPACE, job_id)
