"""A calc's `input` output, as an import stores it, becomes an input model linked to the calc.

Engine 3.26.2 lists no `input` output for the calcs seen (docs/inputs.md), but an engine that
does gives the job's own archive: its files are stored by the import like every output's (each
an artifact of its kind), and here the same archive becomes the owner's input model, or is
linked to the one they stored already with the same files, so that one model with ten runs is
stored once. An archive the input reader refuses (the engine's own zip may name a file it does
not ship) keeps its files as artifacts and makes no input model: the import is not failed for it.
"""

from __future__ import annotations

import logging

from django.conf import settings

from inputs.models import InputLink, LinkOrigin
from inputs.services import input_model_create
from kinds import input_archive
from kinds.base import ParseError

log = logging.getLogger(__name__)


def input_output_stored(*, calculation, output: dict, download, artifacts: list) -> None:
    if output.get("type") != input_archive.OUTPUT_TYPE:
        return
    limits = input_archive.Limits(max_total=settings.ICEBOX_MAX_UNCOMPRESSED_BYTES)
    try:
        archive = input_archive.read_archive(download.file_name, download.path.read_bytes(), limits=limits)
    except ParseError as exc:
        log.warning("calc %s: its input output is kept as files, not as an input model: %s", calculation.calc_id, exc)
        return
    stored = {artifact.file_name: artifact for artifact in artifacts}
    model, _created = input_model_create(owner=calculation.owner, file_name=download.file_name, path=download.path, archive=archive,
                                         stored=stored)
    InputLink.objects.get_or_create(input_model=model, calculation=calculation, defaults={"origin": LinkOrigin.IMPORTED})
