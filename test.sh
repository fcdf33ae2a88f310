#!/usr/bin/env bash
# Set up everything (system packages, PostgreSQL + PostGIS, .venv) and run the whole test suite.
exec bash "$(dirname "$0")/scripts/with-make.sh" test "$@"
