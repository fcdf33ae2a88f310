"""Input models for the tests: a job folder zipped as the engine's /v1/calc/run takes it."""

from __future__ import annotations

import configparser
import hashlib
import io
import zipfile
from pathlib import Path

from inputs.services import input_model_create


def zip_folder(folder: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            archive.write(path, path.relative_to(folder).as_posix())
    return buffer.getvalue()


def model_from_zip(owner, data: bytes, *, job_ini: str = "job.ini", name: str = "inputs"):
    """Stored as input_model_create takes a checked archive: its files and job parameters."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        files = [{"path": i.filename, "size": i.file_size, "sha256": hashlib.sha256(archive.read(i)).hexdigest(), "role": ""}
                 for i in archive.infolist() if not i.is_dir()]
        parser = configparser.ConfigParser(interpolation=None)
        parser.read_string(archive.read(job_ini).decode("utf-8-sig"))
    params = {key: value for section in parser.sections() for key, value in parser[section].items()}
    model, _created = input_model_create(owner=owner, file_name=f"{name}.zip", data=data, job_ini=job_ini, params=params, files=files)
    return model
