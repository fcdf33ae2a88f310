from django.db import migrations, models

# UNLOGGED: counters are worth no WAL; after a crash PostgreSQL empties the table, which only
# forgets the current windows.
CREATE = """
CREATE UNLOGGED TABLE throttling_window (
    key text PRIMARY KEY,
    expires timestamptz NOT NULL,
    hits integer NOT NULL
);
CREATE INDEX throttling_window_expires ON throttling_window (expires);
"""


class Migration(migrations.Migration):
    initial = True
    dependencies = []
    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunSQL(CREATE, "DROP TABLE throttling_window")],
            state_operations=[
                migrations.CreateModel(
                    name="Window",
                    fields=[
                        ("key", models.TextField(primary_key=True, serialize=False)),
                        ("expires", models.DateTimeField(db_index=True)),
                        ("hits", models.IntegerField()),
                    ],
                    options={"db_table": "throttling_window"},
                )
            ],
        )
    ]
