"""Asking for an import from an engine server: check the request and queue the job.

The worker's half (running a job, storing what it fetched, recovering jobs whose worker died)
is `engine.runs`; this module sends no request to any engine. See docs/import.md.
"""

from __future__ import annotations

import unicodedata

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction

from core.exceptions import InvalidParameter
from engine.exceptions import ImportForbidden
from engine.models import ImportJob
from engine.servers import parse_import_target
from engine.tasks import run_import

# Output type names are the engine's (hcurves, gmf_data, avg_losses-rlzs...): short, printable.
MAX_OUTPUT_TYPE_CHARS = 100
MAX_OUTPUTS = 1000


def import_request(
    *,
    requested_by,
    engine_url=None,
    calc_id=None,
    url=None,
    outputs=None,
    datastore=False,
    owner=None,
    enqueue: bool = True,
) -> ImportJob:
    """Check the request (allow-list, outputs, owner) and queue the job. Sends no request to any engine.

    `outputs` None (the default) imports every output the calc lists; a list narrows it to those
    output types. `datastore` also stores the calc's HDF5 datastore.
    """
    server, calc = parse_import_target(engine_url=engine_url, calc_id=calc_id, url=url, servers=settings.ICEBOX_ENGINE_SERVERS)
    wanted = _requested_outputs(outputs)
    if not isinstance(datastore, bool):
        raise InvalidParameter("datastore must be true or false")
    owner_user = _owner(requested_by=requested_by, owner=owner)
    with transaction.atomic():
        # Job and task row commit together: a worker never sees a task whose job is missing.
        job = ImportJob.objects.create(
            owner=owner_user, requested_by=requested_by, engine_url=server.base_url, calc_id=calc, outputs=wanted, datastore=datastore
        )
        if enqueue:
            run_import.enqueue(job.pk)
    return job


def _requested_outputs(outputs) -> list[str]:
    """[] for every output; else the named output types, in the order given, once each.

    Any name is accepted: every output type is storable now (what no kind parses is kept raw),
    and only the engine knows which types a calc has; a name the calc does not list is reported
    in the job's `skipped` when it runs.
    """
    if outputs is None:
        return []
    if not isinstance(outputs, list) or not outputs or not all(isinstance(o, str) for o in outputs):
        raise InvalidParameter("outputs must be a non-empty list of engine output types (hcurves, gmf_data, ...), or left out for every output")
    if len(outputs) > MAX_OUTPUTS:
        raise InvalidParameter(f"outputs lists {len(outputs)} types; the limit is {MAX_OUTPUTS}")
    for name in outputs:
        if not name or len(name) > MAX_OUTPUT_TYPE_CHARS or any(unicodedata.category(c)[0] in "CZ" for c in name):
            raise InvalidParameter(f"outputs: {name[:40]!r} is not an engine output type name")
    return list(dict.fromkeys(outputs))


def _owner(*, requested_by, owner):
    if owner is None or owner == requested_by.get_username():
        return requested_by
    # PostgreSQL text cannot hold NUL: such a name would fail in the query instead of matching nobody.
    if not isinstance(owner, str) or not owner or "\x00" in owner:
        raise InvalidParameter("owner must be a user name")
    if not requested_by.is_staff:
        raise ImportForbidden("only staff may import for another user")
    try:
        return get_user_model().objects.get_by_natural_key(owner)
    except get_user_model().DoesNotExist:
        raise InvalidParameter(f"no user named {owner!r}") from None
