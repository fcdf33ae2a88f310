import pytest
from django.db import connection

from blobs.models import Blob
from engine.servers import parse_engine_servers
from icebox.models import Artifact
from tests.engine.fake_engine import FakeEngine
from tests.support import stored_contents


@pytest.fixture
def fake_engine(settings):
    """A fake engine serving calc 2, and the only server of the allow-list."""
    with FakeEngine() as engine:
        settings.ICEBOX_ENGINE_SERVERS = parse_engine_servers(engine.url)
        yield engine


def stored_counts() -> dict:
    """Everything an import writes, counted; all zero means nothing partial was left."""
    from engine.models import Calculation, ImportedOutput

    with connection.cursor() as cursor:
        # Partitions of their own (big artifacts), and artifacts with rows wherever they are.
        cursor.execute("SELECT count(*) FROM pg_class WHERE relname ~ '^geo_feature_[0-9]+$' AND relkind = 'r'")
        partitions = cursor.fetchone()[0]
        cursor.execute("SELECT count(DISTINCT artifact_id) FROM geo_feature")
        with_rows = cursor.fetchone()[0]
    return {
        "artifacts": Artifact.objects.count(),
        "files": Blob.objects.count(),
        "stored bytes": stored_contents(),
        "partitions": partitions,
        "with_rows": with_rows,
        "provenance": ImportedOutput.objects.count(),
        "calculations": Calculation.objects.count(),
    }


NOTHING = {"artifacts": 0, "files": 0, "stored bytes": 0, "partitions": 0, "with_rows": 0, "provenance": 0, "calculations": 0}


# For tests whose rows must be committed (threads, worker processes). The root conftest drops
# the feature partitions they leave once Django's flush has emptied the tables.
transactional = pytest.mark.django_db(transaction=True)


