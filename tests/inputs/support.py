"""Input models for the tests: a job folder zipped as the engine's /v1/calc/run takes it."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from inputs.services import input_upload


def zip_folder(folder: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            archive.write(path, path.relative_to(folder).as_posix())
    return buffer.getvalue()


def model_from_zip(owner, data: bytes, *, name: str = "inputs"):
    model, _created = input_upload(owner=owner, file_name=f"{name}.zip", data=data)
    return model
