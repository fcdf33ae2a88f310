from django.apps import AppConfig
from django.conf import settings
from django.db.backends.signals import connection_created

from core.backend_memory import keep_freed_memory


class IceboxConfig(AppConfig):
    name = "icebox"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from blobs import store as blob_store
        from icebox import housekeeping, tempfiles
        from icebox.selectors import compact_artifact_counts

        # Django's system checks refuse a FILE_UPLOAD_TEMP_DIR that does not exist: create
        # ICEBOX_TMP_DIR before they run, so that any entry point (manage.py, gunicorn, pytest)
        # works on a fresh clone or with a new ICEBOX_TMP_DIR.
        tempfiles.directory()
        housekeeping.register("orphaned temporary files", tempfiles.sweep)
        # Bytes a killed writer or a dropped connection left without their row, and partial writes.
        housekeeping.register("orphaned blobs", blob_store.sweep)
        housekeeping.register("artifact count deltas summed up", compact_artifact_counts)
        connection_created.connect(_keep_freed_memory, dispatch_uid="icebox.keep_freed_memory")


def _keep_freed_memory(sender, connection, **kwargs):
    # Once per connection, before its first statement: big reads stop faulting pages in (core/backend_memory.py).
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            keep_freed_memory(cursor, settings.ICEBOX_DB_KEEP_FREED_MB)
