import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

# One row per statement that inserts, deletes or re-owns artifacts (icebox.models.ArtifactCountDelta).
TRIGGERS = """
LOCK TABLE icebox_artifact IN SHARE MODE;
CREATE FUNCTION icebox_artifact_count_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO icebox_artifactcountdelta (owner_id, delta) SELECT owner_id, count(*) FROM inserted GROUP BY owner_id;
    RETURN NULL;
END $$;
CREATE FUNCTION icebox_artifact_count_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO icebox_artifactcountdelta (owner_id, delta) SELECT owner_id, -count(*) FROM deleted GROUP BY owner_id;
    RETURN NULL;
END $$;
CREATE FUNCTION icebox_artifact_count_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO icebox_artifactcountdelta (owner_id, delta)
    SELECT owner_id, sum(d) FROM (SELECT owner_id, 1 AS d FROM updated UNION ALL SELECT owner_id, -1 FROM previous) AS c
    GROUP BY owner_id HAVING sum(d) <> 0;
    RETURN NULL;
END $$;
CREATE TRIGGER icebox_artifact_count_inserted AFTER INSERT ON icebox_artifact
    REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION icebox_artifact_count_inserted();
CREATE TRIGGER icebox_artifact_count_deleted AFTER DELETE ON icebox_artifact
    REFERENCING OLD TABLE AS deleted FOR EACH STATEMENT EXECUTE FUNCTION icebox_artifact_count_deleted();
CREATE TRIGGER icebox_artifact_count_updated AFTER UPDATE ON icebox_artifact
    REFERENCING OLD TABLE AS previous NEW TABLE AS updated FOR EACH STATEMENT EXECUTE FUNCTION icebox_artifact_count_updated();
INSERT INTO icebox_artifactcountdelta (owner_id, delta) SELECT owner_id, count(*) FROM icebox_artifact GROUP BY owner_id;
"""

DROP_TRIGGERS = """
DROP TRIGGER icebox_artifact_count_inserted ON icebox_artifact;
DROP TRIGGER icebox_artifact_count_deleted ON icebox_artifact;
DROP TRIGGER icebox_artifact_count_updated ON icebox_artifact;
DROP FUNCTION icebox_artifact_count_inserted();
DROP FUNCTION icebox_artifact_count_deleted();
DROP FUNCTION icebox_artifact_count_updated();
"""


class Migration(migrations.Migration):
    dependencies = [("icebox", "0005_artifact_feature_part"), migrations.swappable_dependency(settings.AUTH_USER_MODEL)]

    operations = [
        migrations.CreateModel(
            name="ArtifactCountDelta",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("delta", models.BigIntegerField()),
                (
                    "owner",
                    models.ForeignKey(
                        db_constraint=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name="+", to=settings.AUTH_USER_MODEL
                    ),
                ),
            ],
            options={"indexes": [models.Index(fields=["owner"], name="icebox_artifactcount_owner")]},
        ),
        migrations.RunSQL(TRIGGERS, reverse_sql=DROP_TRIGGERS),
    ]
