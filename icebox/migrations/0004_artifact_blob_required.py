from django.db import migrations, models
import django.db.models.deletion


class Migration(migrations.Migration):
    # Apart from 0003: PostgreSQL refuses to alter a table with the deferred checks of 0003's
    # updates still pending in the same transaction.
    dependencies = [("icebox", "0003_artifact_blob")]

    operations = [
        migrations.AlterField(
            model_name="artifact",
            name="blob",
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="artifacts", to="blobs.blob"),
        ),
        migrations.DeleteModel(name="ArtifactFile"),
    ]
