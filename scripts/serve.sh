#!/usr/bin/env bash
# The service, as `make run` starts it: the import worker beside gunicorn, stopped together on
# Ctrl-C, on a SIGTERM to this script, or when either one exits. A shell runs its trap only
# while it waits, so both run in the background and the script waits for gunicorn.
# Settings come from the environment (see README); ICEBOX_BIND (default 127.0.0.1:8000) and
# ICEBOX_WEB_WORKERS (default 2) choose where gunicorn listens and how many workers it forks.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

.venv/bin/python manage.py icebox_worker &
worker=$!
.venv/bin/gunicorn -c gunicorn.conf.py icebox.wsgi:application &
server=$!
trap 'kill $worker $server 2>/dev/null; wait' EXIT INT TERM
wait $server
