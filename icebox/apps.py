from django.apps import AppConfig


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
