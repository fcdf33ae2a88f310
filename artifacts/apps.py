from django.apps import AppConfig


class ArtifactsConfig(AppConfig):
    """The artifacts API: upload, list, read and delete artifacts (the models are icebox's)."""

    name = "artifacts"
