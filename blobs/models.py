from django.db import models


class Blob(models.Model):
    """One distinct content: its bytes are in the blob storage under `blobs.store.key(sha256)`.

    A committed row always has its bytes in the storage (they are written before the row is
    committed, and removed only after the row is gone). Whatever references a Blob does so with
    on_delete=PROTECT: a blob still referenced cannot be deleted (blobs.store.release).
    """

    sha256 = models.CharField(max_length=64, unique=True)
    size = models.BigIntegerField()
    created = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"{self.sha256} ({self.size} bytes)"
