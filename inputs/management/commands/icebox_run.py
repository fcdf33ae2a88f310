"""`python manage.py icebox_run --input ID --engine URL --owner USER [--param key=value ...] [--hazard-job-id N]`

The same service as POST /inputs/<id>/run, run in this process instead of a worker: submits the
input model, follows the engine's calc and imports its results, printing each step. Exits
non-zero, with the reason (and the engine's traceback), if the run fails.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from core.exceptions import IceboxError
from core.integers import INTEGER_MAX, parse_int
from inputs import runs, selectors, services
from inputs.models import RunStatus


class Command(BaseCommand):
    help = "Run a stored input model on an engine server of ICEBOX_ENGINE_SERVERS and import its results, in this process."

    def add_arguments(self, parser):
        parser.add_argument("--input", required=True, help="the input model's id")
        parser.add_argument("--engine", required=True, help="engine base URL, e.g. http://127.0.0.1:8800")
        parser.add_argument("--owner", required=True, help="the Icebox user who owns the input model")
        parser.add_argument("--param", action="append", default=[], metavar="KEY=VALUE", help="a job.ini override (repeatable)")
        parser.add_argument("--hazard-job-id", help="the engine's id of the hazard calc a risk job builds on")
        parser.add_argument("--job-ini", help="another .ini file of the model to run (its risk job)")

    def handle(self, *args, input, engine, owner, param, hazard_job_id, job_ini, **options):
        try:
            user = get_user_model().objects.get_by_natural_key(owner)
        except get_user_model().DoesNotExist:
            raise CommandError(f"no user named {owner!r}") from None
        params = {}
        for item in param:
            key, sep, value = item.partition("=")
            if not sep:
                raise CommandError(f"--param {item!r}: write it as key=value")
            params[key.strip()] = value.strip()
        try:
            hazard = None if hazard_job_id is None else parse_int(hazard_job_id, name="--hazard-job-id", minimum=1, maximum=INTEGER_MAX)
            model = selectors.input_model_get(user=user, input_model_id=input)
            run = services.run_request(requested_by=user, input_model=model, engine_url=engine, params=params, hazard_job_id=hazard, job_ini=job_ini,
                                       enqueue=False)
        except IceboxError as exc:
            raise CommandError(exc.message) from None
        seen = []

        def report(current):
            step = (current.status, current.engine_status, current.engine_calc_id)
            if step != (seen[-1] if seen else None):
                seen.append(step)
                calc = f" (engine calc {current.engine_calc_id}: {current.engine_status})" if current.engine_calc_id else ""
                self.stderr.write(f"run {current.pk}: {current.status}{calc}")

        run = runs.run_execute(run_id=run.pk, on_progress=report)
        if run.status != RunStatus.COMPLETE:
            for line in run.traceback[-10:]:
                self.stderr.write(line)
            raise CommandError(f"run {run.pk} failed: {run.error}")
        self.stdout.write(f"run {run.pk} complete: engine calc {run.engine_calc_id} -> calculation {run.calculation_id}")
