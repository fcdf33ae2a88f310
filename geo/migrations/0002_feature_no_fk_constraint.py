import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("geo", "0001_initial"), ("icebox", "0001_initial")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="feature",
                    name="artifact",
                    field=models.ForeignKey(
                        db_constraint=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name="+", to="icebox.artifact"
                    ),
                ),
            ],
            database_operations=[
                # Concurrent imports deadlocked: ATTACH PARTITION adds this constraint to the new
                # partition, which takes a lock on icebox_artifact that conflicts with other imports'
                # inserts while they wait for the attach lock on geo_feature.
                migrations.RunSQL(
                    "ALTER TABLE geo_feature DROP CONSTRAINT IF EXISTS geo_feature_artifact_id_fkey;",
                    reverse_sql="ALTER TABLE geo_feature ADD FOREIGN KEY (artifact_id) REFERENCES icebox_artifact (id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED;",
                ),
            ],
        ),
    ]
