from django.db import models


class Window(models.Model):
    """A key's current throttle window (written by throttling.counters in one SQL statement).

    A model only so that Django knows the table: flushing a test database empties it too.
    """

    key = models.TextField(primary_key=True)
    expires = models.DateTimeField(db_index=True)
    hits = models.IntegerField()

    class Meta:
        db_table = "throttling_window"
