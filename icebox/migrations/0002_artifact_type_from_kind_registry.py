from django.db import migrations, models


class Migration(migrations.Migration):
    # The artifact types come from the kind registry (kinds/__init__.py), checked when an
    # artifact is made; no choices on the column, so adding a kind needs no migration.
    dependencies = [("icebox", "0001_initial")]

    operations = [
        migrations.AlterField(
            model_name="artifact",
            name="artifact_type",
            field=models.CharField(max_length=32),
        ),
    ]
