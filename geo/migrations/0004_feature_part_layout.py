"""geo_feature partitioned by `part` instead of by artifact: one shared partition, big artifacts apart.

Before: one LIST partition per artifact (key artifact_id). After: key `part` (geo.models.Feature),
partition 0 shared by every small artifact, and each big artifact in a partition of its own whose
key is the artifact's id. Existing partitions move to the new parent as they are (their rows are
neither copied nor rewritten): each gets the column `part` as a constant default, which PostgreSQL
stores once in the catalog instead of in every row, and a CHECK that lets ATTACH skip the scan.

Not one transaction: a site with 15,000 partitions would hold a lock on every one of them (and on
their indexes) at once, past `max_locks_per_transaction`. Each partition moves in a transaction
of its own, so an interrupted run leaves each partition under one parent or the other, and
running the migration again carries on where it stopped.
"""

from django.db import migrations, models, transaction

OLD_PARENT = "geo_feature_by_artifact"

# No index on the parent: each partition has its own, of the shape its reads need (the shared one
# leads with artifact_id; a big one indexes geom alone, as before), and ATTACH has none to build.
CREATE_PARENT = """
CREATE EXTENSION IF NOT EXISTS btree_gist;
ALTER TABLE geo_feature RENAME TO geo_feature_by_artifact;
CREATE TABLE geo_feature (
    artifact_id bigint NOT NULL,
    idx integer NOT NULL,
    geom geometry(Geometry, 4326),
    properties jsonb NOT NULL,
    part bigint NOT NULL
) PARTITION BY LIST (part);
CREATE TABLE geo_feature_shared PARTITION OF geo_feature FOR VALUES IN (0);
-- The loader's COPY names the other columns only (geo.loading).
ALTER TABLE geo_feature_shared ALTER COLUMN part SET DEFAULT 0;
ALTER TABLE geo_feature_shared ADD PRIMARY KEY (artifact_id, idx);
CREATE INDEX geo_feature_shared_geom ON geo_feature_shared USING gist (artifact_id, geom);
-- The planner's rows per artifact come from these statistics: an artifact it has not seen counts
-- as an average one, and for a big one (near the threshold) a scan of all its rows then looks
-- cheaper than the GiST index. By default autovacuum analyses after 10% of the table changed,
-- which for ten million rows is a million new ones; here after 0.5%.
ALTER TABLE geo_feature_shared SET (autovacuum_analyze_scale_factor = 0.005, autovacuum_analyze_threshold = 5000);
"""


def _partitions(cursor, parent: str) -> list[tuple[str, int]]:
    cursor.execute(
        "SELECT c.relname, substring(c.relname FROM '^geo_feature_([0-9]+)$')::bigint FROM pg_inherits i"
        " JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = to_regclass(%s) AND c.relname ~ '^geo_feature_[0-9]+$' ORDER BY 2",
        [parent],
    )
    return cursor.fetchall()


def _exists(cursor, name: str) -> bool:
    cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [name])
    return cursor.fetchone()[0]


def forwards(apps, schema_editor):
    connection = schema_editor.connection
    quote = connection.ops.quote_name
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        if not _exists(cursor, OLD_PARENT):
            cursor.execute(CREATE_PARENT)
    with connection.cursor() as cursor:
        partitions = _partitions(cursor, OLD_PARENT)
    for name, artifact_id in partitions:
        table = quote(name)
        with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
            cursor.execute(f"ALTER TABLE {quote(OLD_PARENT)} DETACH PARTITION {table}")
            # A constant default: stored once in the catalog, no row rewritten; dropped at once, the
            # rows keep it (new rows get theirs from the loader).
            cursor.execute(f"ALTER TABLE {table} ADD COLUMN part bigint NOT NULL DEFAULT {int(artifact_id)}")
            cursor.execute(f"ALTER TABLE {table} ALTER COLUMN part DROP DEFAULT")
            cursor.execute(f"ALTER TABLE {table} ADD CONSTRAINT {quote(name + '_part')} CHECK (part = {int(artifact_id)})")
            cursor.execute(f"ALTER TABLE {quote('geo_feature')} ATTACH PARTITION {table} FOR VALUES IN ({int(artifact_id)})")
            cursor.execute(f"UPDATE {quote('icebox_artifact')} SET feature_part = id WHERE id = %s", [artifact_id])
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {quote(OLD_PARENT)}")


def backwards(apps, schema_editor):
    """Back to one partition per artifact: own partitions move back as they are; the shared
    partition's rows are copied into a partition per artifact (indexed as the old loader did)."""
    connection = schema_editor.connection
    quote = connection.ops.quote_name
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TABLE {quote(OLD_PARENT)} (artifact_id bigint NOT NULL, idx integer NOT NULL, geom geometry(Geometry, 4326),"
            " properties jsonb NOT NULL, PRIMARY KEY (artifact_id, idx)) PARTITION BY LIST (artifact_id)"
        )
        cursor.execute(f"CREATE INDEX geo_feature_by_artifact_geom ON {quote(OLD_PARENT)} USING gist (geom)")
        for name, artifact_id in _partitions(cursor, "geo_feature"):
            table = quote(name)
            cursor.execute(f"ALTER TABLE {quote('geo_feature')} DETACH PARTITION {table}")
            cursor.execute(f"ALTER TABLE {table} DROP COLUMN part")
            cursor.execute(f"ALTER TABLE {quote(OLD_PARENT)} ATTACH PARTITION {table} FOR VALUES IN ({int(artifact_id)})")
        cursor.execute("SELECT DISTINCT artifact_id FROM geo_feature_shared ORDER BY 1")
        for (artifact_id,) in cursor.fetchall():
            name = f"geo_feature_{int(artifact_id)}"
            table = quote(name)
            cursor.execute(f"CREATE TABLE {table} (LIKE {quote(OLD_PARENT)} INCLUDING DEFAULTS)")
            cursor.execute(
                f"INSERT INTO {table} (artifact_id, idx, geom, properties)"
                " SELECT artifact_id, idx, geom, properties FROM geo_feature_shared WHERE artifact_id = %s ORDER BY idx",
                [artifact_id],
            )
            cursor.execute(f"ALTER TABLE {table} ADD PRIMARY KEY (artifact_id, idx)")
            cursor.execute(f"CREATE INDEX {quote(name + '_geom')} ON {table} USING gist (geom)")
            cursor.execute(f"ALTER TABLE {table} ADD CONSTRAINT {quote(name + '_key')} CHECK (artifact_id = {int(artifact_id)})")
            cursor.execute(f"ALTER TABLE {quote(OLD_PARENT)} ATTACH PARTITION {table} FOR VALUES IN ({int(artifact_id)})")
        cursor.execute(f"DROP TABLE {quote('geo_feature')}")
        cursor.execute(f"ALTER TABLE {quote(OLD_PARENT)} RENAME TO geo_feature")
        cursor.execute("ALTER INDEX geo_feature_by_artifact_geom RENAME TO geo_feature_geom")
        cursor.execute("ALTER INDEX geo_feature_by_artifact_pkey RENAME TO geo_feature_pkey")


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("geo", "0003_feature_geom_nullable"), ("icebox", "0005_artifact_feature_part")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AddField(model_name="feature", name="part", field=models.BigIntegerField()),
            ],
            database_operations=[migrations.RunPython(forwards, backwards)],
        ),
    ]
