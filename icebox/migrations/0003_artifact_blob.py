"""The bytes of every artifact move from its ArtifactFile (bytea) into the blob store (blobs/).

One artifact at a time, so that memory holds one file's bytes, never the table; each content is
written once (identical files share one Blob), under its sha256, which must be the artifact's
own: a mismatch stops the migration rather than store bytes that are not what was recorded.
Back: the bytes are read from the store into ArtifactFile rows again (the store keeps them).
"""

import hashlib

from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.db import migrations, models
import django.db.models.deletion


def _key(sha256: str) -> str:
    # blobs.backends.key, frozen here: a migration must not change when the code does.
    return f"{sha256[:2]}/{sha256[2:4]}/{sha256}"


def bytes_to_store(apps, schema_editor):
    Artifact = apps.get_model("icebox", "Artifact")
    ArtifactFile = apps.get_model("icebox", "ArtifactFile")
    Blob = apps.get_model("blobs", "Blob")
    store = storages["blobs"]
    for artifact_id in ArtifactFile.objects.order_by("pk").values_list("pk", flat=True):
        data = bytes(ArtifactFile.objects.values_list("data", flat=True).get(pk=artifact_id))
        artifact = Artifact.objects.get(pk=artifact_id)
        sha256 = hashlib.sha256(data).hexdigest()
        if sha256 != artifact.sha256 or len(data) != artifact.size:
            raise RuntimeError(f"artifact {artifact_id}: its bytes have sha256 {sha256} ({len(data)} bytes), "
                               f"not the recorded {artifact.sha256} ({artifact.size} bytes); nothing was migrated")
        blob = Blob.objects.filter(sha256=sha256).first()
        if blob is None:
            name = _key(sha256)
            if not (store.exists(name) and store.size(name) == len(data)):
                store.save(name, ContentFile(data))
            blob = Blob.objects.create(sha256=sha256, size=len(data))
        Artifact.objects.filter(pk=artifact_id).update(blob=blob)


def bytes_from_store(apps, schema_editor):
    Artifact = apps.get_model("icebox", "Artifact")
    ArtifactFile = apps.get_model("icebox", "ArtifactFile")
    store = storages["blobs"]
    for artifact_id, sha256 in Artifact.objects.exclude(blob=None).order_by("pk").values_list("pk", "blob__sha256"):
        with store.open(_key(sha256), "rb") as handle:
            ArtifactFile.objects.update_or_create(artifact_id=artifact_id, defaults={"data": handle.read()})


class Migration(migrations.Migration):
    dependencies = [("icebox", "0002_artifact_type_from_kind_registry"), ("blobs", "0001_initial")]

    operations = [
        migrations.AddField(
            model_name="artifact",
            name="blob",
            field=models.ForeignKey(null=True, on_delete=django.db.models.deletion.PROTECT, related_name="artifacts", to="blobs.blob"),
        ),
        migrations.RunPython(bytes_to_store, bytes_from_store),
    ]
