"""Content-addressed bytes: every file Icebox keeps, stored once per sha256 in a Django storage.

A `Blob` row (sha256, size) is what artifacts reference; its bytes live in the storage named
"blobs" in settings.STORAGES (the filesystem by default, or an S3-compatible bucket) under a key
derived from the sha256. See `blobs.store` for the protocol that keeps the rows and the bytes
all or nothing although they live in two places. No import of icebox or above: icebox uses this.
"""
