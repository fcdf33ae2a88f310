"""Icebox's temporary files: all in ICEBOX_TMP_DIR, each held under a lock while it is in use.

A process killed during an upload or an import cannot remove its temporary files. So every one
of them is created in one directory, and the process using it holds an exclusive flock(2) on it
(on the directory, for an import's downloads) for as long as it does. The kernel drops that lock
when the process ends, however it ends, so the sweep removes exactly the entries it can lock:
nothing in use is ever touched, and no age or clock is guessed.
"""

from __future__ import annotations

import fcntl
import logging
import os
import re
import shutil
import stat
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from django.conf import settings
from django.core.files.uploadedfile import TemporaryUploadedFile, UploadedFile
from django.core.files.uploadhandler import FileUploadHandler, TemporaryFileUploadHandler

log = logging.getLogger(__name__)

# Only entries with this prefix are ever swept, even if the directory is shared with others.
PREFIX = "icebox-"
# A sweep can remove a new entry between its creation and its lock: then try another name.
_ATTEMPTS = 10
_SAFE_SUFFIX = re.compile(r"\.[A-Za-z0-9]{1,10}")


def directory() -> Path:
    path = Path(settings.ICEBOX_TMP_DIR)
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def named_temporary_file(*, prefix: str, suffix: str = ""):
    """A NamedTemporaryFile in ICEBOX_TMP_DIR, locked until it is closed (which removes it)."""
    for _attempt in range(_ATTEMPTS):
        handle = tempfile.NamedTemporaryFile(prefix=PREFIX + prefix, suffix=suffix, dir=directory())
        if _hold(handle.fileno(), handle.name):
            return handle
        try:
            handle.close()
        except FileNotFoundError:
            pass
    raise OSError(f"could not create a temporary file in {directory()}: every new one was swept away")


@contextmanager
def locked_directory(*, prefix: str) -> Iterator[Path]:
    """A fresh directory in ICEBOX_TMP_DIR, locked while the block runs, removed with its files after."""
    for _attempt in range(_ATTEMPTS):
        path = Path(tempfile.mkdtemp(prefix=PREFIX + prefix, dir=directory()))
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
        if _hold(fd, path):
            break
        os.close(fd)
    else:
        raise OSError(f"could not create a temporary directory in {directory()}: every new one was swept away")
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
        os.close(fd)


def _hold(fd: int, path) -> bool:
    """Lock `fd`; True if `path` still names that file, i.e. no sweep removed it before the lock."""
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        named = os.lstat(path)
    except FileNotFoundError:
        return False
    held = os.fstat(fd)
    return (named.st_dev, named.st_ino) == (held.st_dev, held.st_ino)


def sweep() -> int:
    """Remove the entries of ICEBOX_TMP_DIR that no live process holds; returns how many."""
    root = directory()  # created here, so that a path Icebox cannot write to fails at start-up
    entries = list(os.scandir(root))
    removed = 0
    for entry in entries:
        if entry.name.startswith(PREFIX) and _remove_if_unused(entry.path):
            removed += 1
    if removed:
        log.info("removed %d temporary file(s) left in %s by processes that died", removed, root)
    return removed


def _remove_if_unused(path: str) -> bool:
    try:
        # O_NOFOLLOW: a symlink planted here is never followed; O_NONBLOCK: nor a FIFO waited on.
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return False
    try:
        held = os.fstat(fd)
        if not (stat.S_ISREG(held.st_mode) or stat.S_ISDIR(held.st_mode)):
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False  # a live process holds it
        try:
            named = os.lstat(path)
        except FileNotFoundError:
            return False
        if (named.st_dev, named.st_ino) != (held.st_dev, held.st_ino):
            return False  # replaced since it was opened: the new one is not ours to judge
        if stat.S_ISDIR(held.st_mode):
            shutil.rmtree(path, ignore_errors=True)
        else:
            os.unlink(path)
        return True
    finally:
        os.close(fd)


# -- uploads -------------------------------------------------------------------------------------


class _LockedTemporaryUploadedFile(TemporaryUploadedFile):
    def __init__(self, name, content_type, size, charset, content_type_extra=None):
        # The client's extension only decorates the name: anything odd (long, NUL) is left out.
        ext = os.path.splitext(name)[1]
        suffix = ".upload" + (ext if _SAFE_SUFFIX.fullmatch(ext) else "")
        file = named_temporary_file(prefix="upload-", suffix=suffix)
        UploadedFile.__init__(self, file, name, content_type, size, charset, content_type_extra)


class LockedTemporaryFileUploadHandler(TemporaryFileUploadHandler):
    """Django's handler for uploads too big for memory, writing to a locked file in ICEBOX_TMP_DIR."""

    def new_file(self, *args, **kwargs):
        FileUploadHandler.new_file(self, *args, **kwargs)
        self.file = _LockedTemporaryUploadedFile(self.file_name, self.content_type, 0, self.charset, self.content_type_extra)
