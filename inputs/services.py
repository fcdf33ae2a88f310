"""Writes of input models and runs: store an input model, ask for a run of one on an engine."""

from __future__ import annotations

import hashlib
import io
import re
import unicodedata
import zipfile

from django.conf import settings
from django.db import IntegrityError, transaction

import kinds
from artifacts.services import artifact_create
from blobs import store as blob_store
from core.exceptions import InvalidParameter
from engine.labels import clean_labels
from engine.servers import match_engine_url
from inputs.models import InputFile, InputLink, InputModel, LinkOrigin, Run
from inputs.tasks import run_input
from kinds import input_archive, raw_file
from kinds.base import Export, ExportFile

MAX_OVERRIDES = 100
MAX_OVERRIDE_CHARS = 10_000
_PARAM_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,99}$")


def files_digest(files: list[dict]) -> str:
    """What makes two input models the same: the same paths with the same bytes."""
    text = "\n".join(f"{f['path']}\0{f['sha256']}" for f in sorted(files, key=lambda f: f["path"]))
    return hashlib.sha256(text.encode()).hexdigest()


def input_upload(*, owner, file_name: str | None = None, data: bytes | None = None, parts: dict[str, bytes] | None = None,
                 name: str | None = None) -> tuple[InputModel, bool]:
    """Read and check a job's inputs (a zip, or a job.ini and its files as `parts`) and store them;
    (model, created). A refusal (ParseError naming the file, the line and the problem) stores nothing."""
    _check_name(name)
    limits = input_archive.Limits(max_total=settings.ICEBOX_MAX_UNCOMPRESSED_BYTES)
    if parts is not None:
        archive = input_archive.read_files(parts, name=file_name or "upload", limits=limits)
        file_name, data = (file_name or "inputs") + ".zip", _zipped(archive)
    else:
        archive = input_archive.read_archive(file_name, data, limits=limits)
    return input_model_create(owner=owner, file_name=file_name, data=data, archive=archive, name=name)


def input_model_create(*, owner, file_name: str, data: bytes | None = None, archive: input_archive.InputArchive,
                       name: str | None = None, path=None, stored: dict | None = None) -> tuple[InputModel, bool]:
    """Store a checked archive (its bytes, or the file at `path`): the zip byte for byte, each file
    as an artifact of its kind, the job parameters and the file tree; (model, created). An
    owner's input model with the same files is returned instead of a second copy. `stored`
    ({path: artifact}) are files stored already (an import's): they are not stored twice."""
    stored = stored or {}
    summary = archive.as_dict()
    digest = files_digest(summary["files"])
    existing = InputModel.objects.filter(owner=owner, digest=digest).first()
    if existing is not None:
        return existing, False
    source = ExportFile(name=file_name, data=data) if path is None else ExportFile(name=file_name, path=path)
    whole = raw_file.read(source, Export(files=(), output_type="input", name=file_name))
    export = archive.export(file_name)
    # Parsed before anything is written: a file its kind refuses stores nothing.
    tables = [(file, None if file.name in stored else kinds.read_file(file, export, max_uncompressed=settings.ICEBOX_MAX_UNCOMPRESSED_BYTES))
              for file in export.files]
    try:
        # blobs.store.atomic: the bytes of a model that fails to store go with its rollback.
        with blob_store.atomic():
            kept = artifact_create(owner=owner, table=whole, name=name, metadata={"input_model": True})
            model = InputModel.objects.create(
                owner=owner,
                name=name or kept.name,
                description=archive.description,
                calculation_mode=archive.calculation_mode,
                job_ini=archive.job_ini,
                params=dict(archive.params),
                files=summary["files"],
                tree=summary["tree"],
                external=summary["external"],
                digest=digest,
                archive=kept,
            )
            for file, table in tables:
                artifact = stored.get(file.name) or artifact_create(
                    owner=owner, table=table, metadata={"input": {"input_model": model.pk, "path": file.name, "role": archive.roles[file.name]}}
                )
                InputFile.objects.create(input_model=model, path=file.name, role=archive.roles[file.name], artifact=artifact)
    except IntegrityError:
        # The same model stored at the same moment by another request: that one is it.
        return InputModel.objects.get(owner=owner, digest=digest), False
    return model, True


def _zipped(archive: input_archive.InputArchive) -> bytes:
    """The files sent one by one, as the one zip the engine's /v1/calc/run takes."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target:
        for file in archive.files:
            target.writestr(file.path, archive.data[file.path])
    return buffer.getvalue()


def _check_name(name) -> None:
    if name is None:
        return
    if not isinstance(name, str) or not name.strip() or len(name) > 255 or any(unicodedata.category(c) == "Cc" for c in name):
        raise InvalidParameter("name must be one line of text of at most 255 characters")


def input_model_set_labels(*, input_model: InputModel, labels) -> InputModel:
    """Replace the labels (the caller fetched the model as its owner's)."""
    input_model.labels = clean_labels(labels)
    input_model.save(update_fields=["labels"])
    return input_model


def input_link(*, owner, calculation, input_model) -> tuple[InputLink, bool]:
    """The owner confirms that `input_model` is what `calculation` was run from; (link, created)."""
    if calculation.owner_id != owner.pk or input_model.owner_id != owner.pk:
        raise InvalidParameter("only the owner of both may link an input model to a calculation")  # callers fetch both as the owner's
    return InputLink.objects.get_or_create(input_model=input_model, calculation=calculation, defaults={"origin": LinkOrigin.CONFIRMED})


def run_request(*, requested_by, input_model: InputModel, engine_url=None, params=None, hazard_job_id=None, job_ini=None,
                enqueue: bool = True) -> Run:
    """Check a run request (allow-listed engine, overrides, hazard calc) and queue it. Sends nothing to any engine."""
    if input_model.owner_id != requested_by.pk:
        raise InvalidParameter("only the owner of an input model may run it")  # callers fetch it as the owner's
    if not isinstance(engine_url, str) or not engine_url:
        raise InvalidParameter("engine_url is required: the engine server to run on (one of ICEBOX_ENGINE_SERVERS)")
    server, _path = match_engine_url(engine_url, settings.ICEBOX_ENGINE_SERVERS)
    overrides = _overrides(params)
    if hazard_job_id is not None and (type(hazard_job_id) is not int or hazard_job_id < 1 or hazard_job_id > 2**31 - 1):
        raise InvalidParameter(f"hazard_job_id must be the engine's id of the hazard calculation (a positive integer), got {hazard_job_id!r}")
    inis = sorted(f["path"] for f in input_model.files if f["path"].lower().endswith(".ini"))
    if job_ini is not None and job_ini not in inis:
        raise InvalidParameter(f"job_ini must be one of the model's .ini files ({', '.join(inis)}), got {str(job_ini)[:100]!r}")
    # The engine runs the first file whose base name ends with the one it is sent: it must be this one.
    chosen = job_ini or input_model.job_ini
    base = chosen.rsplit("/", 1)[-1]
    others = [path for path in inis if path != chosen and path.rsplit("/", 1)[-1].endswith(base)]
    if others:
        raise InvalidParameter(f"the engine picks the job file by the end of its name, and {', '.join(others)} also ends with {base!r}: "
                               "rename one of them in the archive")
    with transaction.atomic():
        # Run and task row commit together: a worker never sees a task whose run is missing.
        run = Run.objects.create(
            owner=requested_by, input_model=input_model, engine_url=server.base_url, params=overrides, hazard_job_id=hazard_job_id,
            job_ini="" if job_ini in (None, input_model.job_ini) else job_ini,
        )
        if enqueue:
            run_input.enqueue(run.pk)
    return run


def _overrides(params) -> dict[str, str]:
    """job.ini overrides as text: {"investigation_time": "50"}; numbers are written as given."""
    if params is None:
        return {}
    if not isinstance(params, dict):
        raise InvalidParameter('params must be an object of job.ini parameters: {"investigation_time": "50"}')
    if len(params) > MAX_OVERRIDES:
        raise InvalidParameter(f"params sets {len(params)} parameters; the limit is {MAX_OVERRIDES}")
    overrides = {}
    for key, value in params.items():
        if not _PARAM_NAME.match(key):
            raise InvalidParameter(f"params: {key[:40]!r} is not a job.ini parameter name (lower case letters, digits and _)")
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise InvalidParameter(f"params: {key} must be text or a number, as job.ini writes it")
        text = value if isinstance(value, str) else repr(value)
        # A line break would start another parameter in the job.ini: one value, one line.
        if not text.strip() or any(unicodedata.category(c) == "Cc" for c in text) or len(text) > MAX_OVERRIDE_CHARS:
            raise InvalidParameter(f"params: {key} must be one line of text (no control characters, at most {MAX_OVERRIDE_CHARS} characters)")
        overrides[key] = text.strip()
    return overrides
