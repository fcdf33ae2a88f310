"""`python manage.py icebox_import --engine URL --calc N --owner USER [--outputs hcurves gmf_data] [--datastore]`

The same service as POST /artifacts/import, run in this process instead of a worker, with a
progress bar on stderr. Exits non-zero, with the reason, if the import fails.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from core.exceptions import IceboxError
from engine import runs, services
from engine.models import ImportStatus
from kinds.base import ParseError

BAR_WIDTH = 30


class Command(BaseCommand):
    help = "Import a complete calculation from an engine server of ICEBOX_ENGINE_SERVERS, in this process."

    def add_arguments(self, parser):
        parser.add_argument("--engine", required=True, help="engine base URL, e.g. http://127.0.0.1:8800")
        # Not type=int: int() takes "٣" for 3; import_request parses ASCII digits.
        parser.add_argument("--calc", required=True, help="the engine's calc id")
        parser.add_argument("--owner", required=True, help="Icebox user name that will own the artifacts")
        parser.add_argument("--outputs", nargs="+", help="engine output types (default: every output of the calc)")
        parser.add_argument("--datastore", action="store_true", help="also store the calc's HDF5 datastore")

    def handle(self, *args, engine, calc, owner, outputs, datastore, **options):
        try:
            user = get_user_model().objects.get_by_natural_key(owner)
        except get_user_model().DoesNotExist:
            raise CommandError(f"no user named {owner!r}") from None
        try:
            job = services.import_request(requested_by=user, engine_url=engine, calc_id=calc, outputs=outputs, datastore=datastore, enqueue=False)
        except (IceboxError, ParseError) as exc:
            raise CommandError(str(exc)) from None
        job = runs.import_job_run(job_id=job.pk, on_progress=self._draw)
        self.stderr.write("")
        for skipped in job.skipped:
            self.stderr.write(f"skipped output {skipped['output_id']} ({skipped['type']}): {skipped['reason']}")
        if job.status != ImportStatus.DONE:
            raise CommandError(f"import {job.pk} failed: {job.error}")
        self.stdout.write(
            f"import {job.pk} done: calc {job.calc_id} from {job.engine_url} -> calculation {job.calculation_id}, "
            f"{job.artifacts.count()} artifact(s)"
        )

    def _draw(self, job) -> None:
        total = job.outputs_total or 0
        done = min(job.outputs_done, total)
        filled = int(BAR_WIDTH * done / total) if total else 0
        size = f"{job.bytes_done / 1e6:.1f} MB"
        self.stderr.style_func = None
        self.stderr.write(f"\r[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {done}/{total} outputs, {size}", ending="")
        self.stderr.flush()
