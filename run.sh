#!/usr/bin/env bash
# Set up everything (system packages, PostgreSQL + PostGIS, .venv), load demo data, serve on 127.0.0.1:8000.
exec bash "$(dirname "$0")/scripts/with-make.sh" run "$@"
