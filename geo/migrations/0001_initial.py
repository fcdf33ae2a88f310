import django.contrib.gis.db.models.fields
import django.db.models.deletion
from django.db import migrations, models

# The feature table is partitioned by artifact (see geo.models.Feature); Django cannot express
# that, so the table is created here, and Django only records the model's state.
CREATE_FEATURE_TABLE = """
CREATE TABLE geo_feature (
    artifact_id bigint NOT NULL REFERENCES icebox_artifact (id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED,
    idx integer NOT NULL,
    geom geometry(Geometry, 4326) NOT NULL,
    properties jsonb NOT NULL,
    PRIMARY KEY (artifact_id, idx)
) PARTITION BY LIST (artifact_id);
CREATE INDEX geo_feature_geom ON geo_feature USING gist (geom);
"""


class Migration(migrations.Migration):
    initial = True

    dependencies = [("icebox", "0001_initial")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="Feature",
                    fields=[
                        ("pk", models.CompositePrimaryKey("artifact_id", "idx", blank=True, editable=False, primary_key=True, serialize=False)),
                        ("artifact", models.ForeignKey(on_delete=django.db.models.deletion.DO_NOTHING, related_name="+", to="icebox.artifact")),
                        ("idx", models.IntegerField()),
                        ("geom", django.contrib.gis.db.models.fields.GeometryField(srid=4326)),
                        ("properties", models.JSONField()),
                    ],
                    options={"db_table": "geo_feature"},
                ),
            ],
            database_operations=[migrations.RunSQL(CREATE_FEATURE_TABLE, reverse_sql="DROP TABLE geo_feature CASCADE;")],
        ),
    ]
