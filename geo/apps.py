from django.apps import AppConfig


class GeoConfig(AppConfig):
    name = "geo"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from geo.loading import drop_orphan_partitions
        from geo.overview import build_lost_overviews
        from icebox import housekeeping

        # A delete drops its partition after its commit unless a read holds the table; then here.
        housekeeping.register("feature partitions of deleted artifacts", drop_orphan_partitions)
        # A killed worker's queued build is lost (its task stays RUNNING), a failed one not retried.
        housekeeping.register("tile overviews whose build was lost or failed", build_lost_overviews)
