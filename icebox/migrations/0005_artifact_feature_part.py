from django.db import migrations, models


class Migration(migrations.Migration):
    # feature_part: where an artifact's rows are (geo.loading, geo migration 0004 fills it for the
    # artifacts loaded before, each in a partition of its own).
    dependencies = [("icebox", "0004_artifact_blob_required")]

    operations = [
        migrations.AddField(model_name="artifact", name="feature_part", field=models.BigIntegerField(default=0)),
        migrations.AddIndex(
            model_name="artifact",
            index=models.Index(fields=["owner", "-created", "-id"], name="icebox_artifact_owner_list"),
        ),
    ]
