from django.apps import AppConfig


class InputsConfig(AppConfig):
    """Input models (the job.ini and the files it names) and their runs on an engine."""

    name = "inputs"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from engine import runs as imports
        from icebox import housekeeping
        from inputs.imports import input_output_stored
        from inputs.recovery import runs_resume

        # An import that stores a calc's `input` output makes it the calc's input model.
        imports.on_output_stored(input_output_stored)
        # A run whose worker died is taken up again (polling resumes; nothing is submitted twice).
        housekeeping.register("runs whose worker died", runs_resume)
