"""Background tasks of the geo app (Django's Tasks API through the django-tasks backport, run by `manage.py icebox_worker`)."""

from django_tasks import task

from geo.overview import build_artifact_overview


@task()
def build_tile_overview(artifact_id: int) -> bool:
    """The tile overview of an artifact just imported (geo.overview); queued by the import in its own transaction."""
    return build_artifact_overview(artifact_id)
