from django.apps import AppConfig


class InputsConfig(AppConfig):
    """Input models (the job.ini and the files it names) and their runs on an engine."""

    name = "inputs"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from icebox import housekeeping
        from inputs.recovery import runs_resume

        # A run whose worker died is taken up again (polling resumes; nothing is submitted twice).
        housekeeping.register("runs whose worker died", runs_resume)
