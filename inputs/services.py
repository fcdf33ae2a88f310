"""Writes of input models and runs: store an input model, ask for a run of one on an engine."""

from __future__ import annotations

import hashlib
import re
import unicodedata

from django.conf import settings
from django.db import IntegrityError, transaction

from artifacts.services import artifact_create
from core.exceptions import InvalidParameter
from engine.servers import match_engine_url
from inputs.models import InputLink, InputModel, LinkOrigin, Run
from inputs.tasks import run_input
from kinds import raw_file
from kinds.base import Export, ExportFile

MAX_OVERRIDES = 100
MAX_OVERRIDE_CHARS = 10_000
_PARAM_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,99}$")


def files_digest(files: list[dict]) -> str:
    """What makes two input models the same: the same paths with the same bytes."""
    text = "\n".join(f"{f['path']}\0{f['sha256']}" for f in sorted(files, key=lambda f: f["path"]))
    return hashlib.sha256(text.encode()).hexdigest()


def input_model_create(
    *, owner, file_name: str, data: bytes, job_ini: str, params: dict, files: list[dict], name: str | None = None
) -> tuple[InputModel, bool]:
    """Store a checked input archive (its reading and checking is the caller's); (model, created).

    An owner's input model with the same files is returned instead of a second copy.
    """
    digest = files_digest(files)
    existing = InputModel.objects.filter(owner=owner, digest=digest).first()
    if existing is not None:
        return existing, False
    table = raw_file.read(ExportFile(name=file_name, data=data), Export(files=(), output_type="input", name=file_name))
    try:
        with transaction.atomic():
            archive = artifact_create(owner=owner, table=table, name=name, metadata={"input_model": True})
            model = InputModel.objects.create(
                owner=owner,
                name=name or archive.name,
                description=str(params.get("description", "")),
                calculation_mode=str(params.get("calculation_mode", "")),
                job_ini=job_ini,
                params=params,
                files=files,
                digest=digest,
                archive=archive,
            )
    except IntegrityError:
        # The same model stored at the same moment by another request: that one is it.
        return InputModel.objects.get(owner=owner, digest=digest), False
    return model, True


def input_link(*, owner, calculation, input_model) -> tuple[InputLink, bool]:
    """The owner confirms that `input_model` is what `calculation` was run from; (link, created)."""
    if calculation.owner_id != owner.pk or input_model.owner_id != owner.pk:
        raise InvalidParameter("only the owner of both may link an input model to a calculation")  # callers fetch both as the owner's
    return InputLink.objects.get_or_create(input_model=input_model, calculation=calculation, defaults={"origin": LinkOrigin.CONFIRMED})


def run_request(*, requested_by, input_model: InputModel, engine_url=None, params=None, hazard_job_id=None, enqueue: bool = True) -> Run:
    """Check a run request (allow-listed engine, overrides, hazard calc) and queue it. Sends nothing to any engine."""
    if input_model.owner_id != requested_by.pk:
        raise InvalidParameter("only the owner of an input model may run it")  # callers fetch it as the owner's
    if not isinstance(engine_url, str) or not engine_url:
        raise InvalidParameter("engine_url is required: the engine server to run on (one of ICEBOX_ENGINE_SERVERS)")
    server, _path = match_engine_url(engine_url, settings.ICEBOX_ENGINE_SERVERS)
    overrides = _overrides(params)
    if hazard_job_id is not None and (type(hazard_job_id) is not int or hazard_job_id < 1 or hazard_job_id > 2**31 - 1):
        raise InvalidParameter(f"hazard_job_id must be the engine's id of the hazard calculation (a positive integer), got {hazard_job_id!r}")
    with transaction.atomic():
        # Run and task row commit together: a worker never sees a task whose run is missing.
        run = Run.objects.create(
            owner=requested_by, input_model=input_model, engine_url=server.base_url, params=overrides, hazard_job_id=hazard_job_id
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
