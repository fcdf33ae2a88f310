import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "icebox.settings")
application = get_wsgi_application()

# A web worker killed mid-upload cannot remove its temporary file: each one that starts (a
# replacement too) removes those no live process holds. Files only: no database work here.
from icebox import tempfiles  # noqa: E402 - needs the settings configured above

tempfiles.sweep()
