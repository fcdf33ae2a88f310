#!/usr/bin/env bash
# `make TARGET` on a machine that may not have make yet: a minimal Debian 12 lacks it, and
# scripts/bootstrap.sh, which installs everything else, runs from the Makefile.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if ! command -v make >/dev/null; then
    [[ $EUID -eq 0 ]] || { echo "make is missing: run me as root so I can install it" >&2; exit 1; }
    echo "installing make"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends make >/dev/null
fi
exec make "$@"
