from django.apps import AppConfig


class EngineConfig(AppConfig):
    name = "engine"
    verbose_name = "Imports from OpenQuake engine servers"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from engine.runs import import_jobs_recover
        from icebox import housekeeping

        housekeeping.register("imports whose worker died", import_jobs_recover)
