"""The names of the files a client sent, as sent, and their sha256.

Django cuts an uploaded file's name to 255 characters (keeping the extension) when it builds the
UploadedFile, so the view could only store a name the client never gave. This handler, first in
a request's chain, notes each file part's field and file name, hashes its bytes as they arrive
(so a file of gigabytes is not read again to find its blob) and passes every byte on.
"""

from __future__ import annotations

import hashlib

from django.core.files.uploadhandler import FileUploadHandler


class FileNames(FileUploadHandler):
    def __init__(self, request=None):
        super().__init__(request)
        self.parts: list[list] = []  # [field name, file name, sha256 digest] in the order sent

    def new_file(self, field_name, file_name, *args, **kwargs):
        super().new_file(field_name, file_name, *args, **kwargs)
        self.parts.append([field_name, file_name, hashlib.sha256()])

    def receive_data_chunk(self, raw_data, start):
        self.parts[-1][2].update(raw_data)
        return raw_data

    def file_complete(self, file_size):
        return None

    def names(self, field_name: str) -> list[str]:
        return [name for field, name, _digest in self.parts if field == field_name]

    def sha256s(self, field_name: str) -> list[str]:
        return [digest.hexdigest() for field, _name, digest in self.parts if field == field_name]
