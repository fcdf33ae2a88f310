"""`manage.py icebox_tile_overviews`: thin the low zooms of big maps that have no overview yet.

Imports queue their overview's build for the worker (geo.tasks), and every worker's housekeeping
redoes a build that was lost or failed (geo.overview.build_lost_overviews); this does it at once,
for the artifacts a database held before overviews existed or whose build was lost. Safe beside
running web processes and workers, and to run again: an artifact that has its overview is
skipped. Until it runs, those maps' low-zoom tiles are thinned per request (the same tiles, slower).
"""

from django.core.management.base import BaseCommand

from geo.overview import build_missing_overviews


class Command(BaseCommand):
    help = "Build the low-zoom tile overview of every big map of points that has none yet."

    def handle(self, *args, **options):
        built = build_missing_overviews()
        self.stdout.write(f"built the tile overview of {built} artifact(s)")
