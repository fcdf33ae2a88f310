import django.contrib.gis.db.models.fields
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("geo", "0002_feature_no_fk_constraint")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="feature",
                    name="geom",
                    field=django.contrib.gis.db.models.fields.GeometryField(null=True, srid=4326),
                ),
            ],
            database_operations=[
                # Rows of tables without coordinates (realizations, events...) carry no geometry;
                # GiST indexes skip NULLs. Recurses to every existing partition.
                migrations.RunSQL(
                    "ALTER TABLE geo_feature ALTER COLUMN geom DROP NOT NULL;",
                    reverse_sql="ALTER TABLE geo_feature ALTER COLUMN geom SET NOT NULL;",
                ),
            ],
        ),
    ]
