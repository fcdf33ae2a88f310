#!/usr/bin/env bash
# Set up everything Icebox needs on a Debian 12 machine (run as root):
#   1. system packages (only those missing),
#   2. a PostgreSQL server on 127.0.0.1:5432 with PostGIS, role+database "icebox",
#      PostGIS in "icebox" and in template1 (so Django's test database gets it),
#   3. the virtualenv .venv with requirements.txt installed,
#   4. the explorer's JavaScript (npm ci from package-lock.json; Node.js and npm from Debian if missing).
# With --tests (make test), also what only the test suite uses: Debian's QGIS (python3-qgis,
# about 170 packages) and Chromium, so that `make run` stays light.
# Idempotent: a second run does nothing and prints a single "ok" line.
# Honours DATABASE_URL: if it differs from the default, no role/database is created.
# -E: the ERR trap below also fires inside functions (without it a failure there exits silently).
set -Eeuo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
FOR_TESTS=0
case ${1:-} in
    --tests) FOR_TESTS=1 ;;
    "") ;;
    *) echo "usage: $0 [--tests]" >&2; exit 2 ;;
esac

DEFAULT_DATABASE_URL=postgis://icebox:icebox@127.0.0.1:5432/icebox
DATABASE_URL=${DATABASE_URL:-$DEFAULT_DATABASE_URL}
DB_NAME=icebox DB_USER=icebox DB_PASSWORD=icebox
PG_HOST=127.0.0.1 PG_PORT=5432
VENV=$ROOT/.venv
REQ=$ROOT/requirements.txt
REQ_STAMP=$VENV/.requirements.sha256
export PGOPTIONS="-c client_min_messages=warning"  # no NOTICEs from psql
LOG=$(mktemp -t icebox-bootstrap.XXXXXX)
trap 'rm -f "$LOG"' EXIT

ACTIONS=0
say()  { echo "bootstrap: $*"; ACTIONS=$((ACTIONS + 1)); }
die()  { echo "bootstrap: ERROR: $*" >&2; exit 1; }
# Reported once, by the script itself: a failure in a ( subshell ) fires the trap there too.
trap 'if [[ $BASH_SUBSHELL -eq 0 ]]; then
          echo "bootstrap: ERROR: command failed (line $LINENO${FUNCNAME:+, in $FUNCNAME called from line ${BASH_LINENO[0]}}): $BASH_COMMAND" >&2
      fi' ERR

# Run a noisy command with its output in $LOG; show the end of the log if it fails.
quietly() {
    if ! "$@" >"$LOG" 2>&1; then
        tail -n 40 "$LOG" >&2
        die "failed: $*"
    fi
}

[[ $EUID -eq 0 ]] || die "run me as root (I install Debian packages and set up PostgreSQL)"
if ! command -v dpkg-query >/dev/null || ! command -v apt-get >/dev/null; then
    die "this script expects Debian (dpkg-query, apt-get)"
fi

# ---------------------------------------------------------------- 1. packages
APT_UPDATED=0
missing_pkgs() {  # prints the given packages that are not installed
    local p
    for p in "$@"; do
        [[ $(dpkg-query -W -f='${Status}' "$p" 2>/dev/null) == "install ok installed" ]] || echo "$p"
    done
}
apt_install() {  # installs the given packages that are missing
    local todo
    todo=$(missing_pkgs "$@" | tr '\n' ' ')
    [[ -n ${todo// /} ]] || return 0
    if [[ $APT_UPDATED -eq 0 ]]; then
        say "apt-get update"
        quietly apt-get update
        APT_UPDATED=1
    fi
    say "installing packages: $todo"
    # shellcheck disable=SC2086
    quietly env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $todo
}

tcp_open() {  # is something listening on $PG_HOST:$PG_PORT?
    timeout 2 bash -c "exec 3<>/dev/tcp/$PG_HOST/$PG_PORT" 2>/dev/null
}
local_clusters() {  # "VERSION NAME PORT STATUS" per Debian cluster
    command -v pg_lsclusters >/dev/null || return 0
    pg_lsclusters --no-header 2>/dev/null | awk '{print $1, $2, $3, $4}'
}

# Is DATABASE_URL our default, and does it point at this machine's 127.0.0.1:5432?
CUSTOM_URL=0
[[ $DATABASE_URL == "$DEFAULT_DATABASE_URL" ]] || CUSTOM_URL=1
URL_IS_LOCAL=1
case $(sed -E 's#^[a-z]+://([^@/]*@)?([^/?]*).*#\2#' <<<"$DATABASE_URL") in
    127.0.0.1:5432 | localhost:5432 | 127.0.0.1 | localhost | "") ;;
    *) URL_IS_LOCAL=0 ;;
esac

pkgs=(ca-certificates curl make gdal-bin libgdal32 libgeos-c1v5 libproj25)
command -v python3 >/dev/null || pkgs+=(python3)
if [[ $URL_IS_LOCAL -eq 1 ]] && ! tcp_open && [[ -z $(local_clusters) ]]; then
    pkgs+=(postgresql)
fi
command -v psql >/dev/null || pkgs+=(postgresql-client)
# The suite opens Icebox layers in QGIS with Debian's PyQGIS (tests/ogc/test_qgis.py) and drives
# the explorer page in Debian's headless Chromium (tests/explore/).
[[ $FOR_TESTS -eq 0 ]] || pkgs+=(python3-qgis chromium)
# The explorer's JavaScript comes from the npm registry (step 4); Debian 12 has Node.js 18 and npm 9.
command -v npm >/dev/null || pkgs+=(nodejs npm)
apt_install "${pkgs[@]}"
# python3 may be Debian's (needs python3-venv for ensurepip) or another one (pyenv) that has venv.
if ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
    apt_install python3-venv
    python3 -c 'import venv, ensurepip' >/dev/null 2>&1 \
        || die "python3 ($(command -v python3)) cannot create virtualenvs (no venv/ensurepip module)"
fi

# ---------------------------------------------------------------- 2. PostgreSQL
# The psql URL form of DATABASE_URL (psql does not know postgis://).
PSQL_URL=$(sed -E 's#^(postgis|postgres|postgresql|pgsql)://#postgresql://#' <<<"$DATABASE_URL")

if [[ $URL_IS_LOCAL -eq 1 ]]; then
    if ! pg_isready -q -h "$PG_HOST" -p "$PG_PORT"; then
        cluster=$(local_clusters | awk -v p="$PG_PORT" '$3 == p {print $1, $2; exit}')
        if [[ -z $cluster ]]; then
            [[ -z $(local_clusters) ]] || die "PostgreSQL clusters exist but none uses port $PG_PORT (see pg_lsclusters)"
            major=$(find /usr/lib/postgresql -maxdepth 3 -path '*/bin/postgres' 2>/dev/null \
                        | awk -F/ '{print $5}' | sort -n | tail -n 1 || true)
            [[ -n $major ]] || die "no PostgreSQL server installed (apt-get install postgresql)"
            say "creating PostgreSQL cluster $major/main"
            quietly pg_createcluster "$major" main --port "$PG_PORT"
            cluster="$major main"
        fi
        if ! local_clusters | grep -q "^$cluster $PG_PORT online"; then
            say "starting PostgreSQL cluster ${cluster/ //}"
            # shellcheck disable=SC2086
            quietly pg_ctlcluster --skip-systemctl-redirect $cluster start
        fi
        for _ in $(seq 60); do
            pg_isready -q -h "$PG_HOST" -p "$PG_PORT" && break
            sleep 0.5
        done
        pg_isready -q -h "$PG_HOST" -p "$PG_PORT" \
            || die "PostgreSQL does not answer on $PG_HOST:$PG_PORT (check listen_addresses and /var/log/postgresql/)"
    fi

    # Superuser SQL: peer auth over the local socket as "postgres", else TCP as postgres.
    if (cd / && runuser -u postgres -- psql -X -w -q -At -p "$PG_PORT" -c 'select 1') >/dev/null 2>&1; then
        admin_psql() { (cd / && runuser -u postgres -- psql -X -w -q -At -v ON_ERROR_STOP=1 -p "$PG_PORT" "$@"); }
    elif psql -X -w -q -At -h "$PG_HOST" -p "$PG_PORT" -U postgres -c 'select 1' >/dev/null 2>&1; then
        admin_psql() { psql -X -w -q -At -v ON_ERROR_STOP=1 -h "$PG_HOST" -p "$PG_PORT" -U postgres "$@"; }
    else
        die "cannot connect to PostgreSQL as superuser 'postgres' (neither local socket nor $PG_HOST:$PG_PORT)"
    fi

    # PostGIS for the running server's major version (unless the server already offers it).
    major=$(( $(admin_psql -c 'show server_version_num') / 10000 ))
    if [[ $(admin_psql -c "select count(*) from pg_available_extensions where name = 'postgis'") == 0 ]]; then
        apt_install "postgresql-$major-postgis-3"
        [[ $(admin_psql -c "select count(*) from pg_available_extensions where name = 'postgis'") != 0 ]] \
            || die "PostGIS is not available in the PostgreSQL $major server on $PG_HOST:$PG_PORT"
    fi

    if [[ $CUSTOM_URL -eq 1 ]]; then
        echo "bootstrap: DATABASE_URL is set to your own database: not creating role/database '$DB_NAME'"
    else
        DB_CHANGED=0
        if [[ -z $(admin_psql -c "select 1 from pg_roles where rolname = '$DB_USER'") ]]; then
            say "creating role $DB_USER"
            admin_psql -c "create role $DB_USER login createdb password '$DB_PASSWORD'"
            DB_CHANGED=1
        elif [[ $(admin_psql -c "select rolcanlogin and rolcreatedb from pg_roles where rolname = '$DB_USER'") != t ]]; then
            say "granting LOGIN CREATEDB to role $DB_USER"
            admin_psql -c "alter role $DB_USER login createdb"
            DB_CHANGED=1
        fi
        for db in template1 "$DB_NAME"; do
            if [[ $db == "$DB_NAME" && -z $(admin_psql -c "select 1 from pg_database where datname = '$DB_NAME'") ]]; then
                say "creating database $DB_NAME"
                admin_psql -c "create database $DB_NAME owner $DB_USER"
                DB_CHANGED=1
            fi
            # btree_gist: the shared feature partition's GiST index on (artifact_id, geom) (geo migration 0004).
            for ext in postgis btree_gist; do
                if [[ -z $(admin_psql -d "$db" -c "select 1 from pg_extension where extname = '$ext'") ]]; then
                    say "creating extension $ext in $db"
                    admin_psql -d "$db" -c "create extension if not exists $ext"
                    DB_CHANGED=1
                fi
            done
        done
        # Our role must be able to log in over TCP with its password (scram on a fresh cluster).
        if ! PGCONNECT_TIMEOUT=5 psql -X -w -q -At "$PSQL_URL" -c 'select 1' >/dev/null 2>&1; then
            say "setting the password of role $DB_USER"
            admin_psql -c "alter role $DB_USER password '$DB_PASSWORD'"
        fi
        if [[ $DB_CHANGED -eq 1 ]]; then
            # What Django's test runner does: create a database from template1 as $DB_USER,
            # run the (no-op) CREATE EXTENSION IF NOT EXISTS postgis, drop it.
            probe=icebox_bootstrap_probe
            psql -X -w -q -At "$PSQL_URL" -c "drop database if exists $probe" -c "create database $probe" >/dev/null \
                || die "role $DB_USER cannot create databases"
            probe_url=${PSQL_URL%/*}/$probe
            if ! psql -X -w -q -At -v ON_ERROR_STOP=1 "$probe_url" \
                    -c 'create extension if not exists postgis' -c 'select postgis_version()' >/dev/null; then
                psql -X -w -q "$PSQL_URL" -c "drop database if exists $probe" || true
                die "a database created by $DB_USER from template1 does not get PostGIS"
            fi
            psql -X -w -q "$PSQL_URL" -c "drop database $probe"
            say "checked: $DB_USER can create a test database with PostGIS"
        fi
    fi
else
    echo "bootstrap: DATABASE_URL points to another host: not managing a local PostgreSQL"
fi

# Whatever the URL, the database it names must answer and have (or be able to get) PostGIS.
postgis=$(PGCONNECT_TIMEOUT=10 psql -X -w -q -At "$PSQL_URL" -c \
    "select coalesce((select 'installed' from pg_extension where extname = 'postgis'),
                     (select 'available' from pg_available_extensions where name = 'postgis'), 'missing')" 2>"$LOG") \
    || { cat "$LOG" >&2; die "cannot connect to DATABASE_URL ($DATABASE_URL)"; }
case $postgis in
    installed) ;;
    available) echo "bootstrap: note: PostGIS is available but not installed in that database;" \
                    "Django's migrate will run CREATE EXTENSION postgis, which needs a superuser" ;;
    *) die "PostGIS is not available on the server of DATABASE_URL ($DATABASE_URL)" ;;
esac

# ---------------------------------------------------------------- 3. virtualenv
if [[ -d $VENV ]] && ! "$VENV/bin/python" -c '' >/dev/null 2>&1; then
    say "removing broken virtualenv .venv"
    rm -rf "$VENV"
fi
if [[ ! -d $VENV ]]; then
    say "creating virtualenv .venv ($(python3 --version 2>&1))"
    quietly python3 -m venv "$VENV"
    say "upgrading pip in .venv"
    quietly "$VENV/bin/python" -m pip install --disable-pip-version-check --upgrade pip
fi
req_sum=$(sha256sum "$REQ" | cut -d' ' -f1)
if [[ ! -f $REQ_STAMP || $(cat "$REQ_STAMP") != "$req_sum" ]]; then
    say "installing requirements.txt into .venv"
    quietly "$VENV/bin/python" -m pip install --disable-pip-version-check -r "$REQ"
    # GeoDjango must be able to load GDAL and GEOS.
    "$VENV/bin/python" -c 'from django.contrib.gis.gdal import gdal_version; from django.contrib.gis.geos import geos_version; gdal_version(); geos_version()' \
        || die "GeoDjango cannot load the GDAL/GEOS libraries"
    echo "$req_sum" >"$REQ_STAMP"
fi

# ---------------------------------------------------------------- 4. the explorer's JavaScript
# MapLibre GL JS, pinned by package-lock.json, installed again only when the lock file changes
# (npm ci empties node_modules, stamp included); the page serves a copy of its files from
# explore/static (no CDN, no build step), which collectstatic picks up.
NODE_STAMP=$ROOT/node_modules/.package-lock.sha256
VENDOR=$ROOT/explore/static/explore/vendor
lock_sum=$(sha256sum "$ROOT/package-lock.json" | cut -d' ' -f1)
if [[ ! -f $NODE_STAMP || $(cat "$NODE_STAMP") != "$lock_sum" ]]; then
    say "installing the explorer's JavaScript (npm ci)"
    quietly npm ci --no-audit --no-fund
    echo "$lock_sum" >"$NODE_STAMP"
fi
for file in maplibre-gl.js maplibre-gl.css LICENSE.txt; do
    if ! cmp -s "$ROOT/node_modules/maplibre-gl/dist/$file" "$VENDOR/$file"; then
        mkdir -p "$VENDOR"
        cp "$ROOT/node_modules/maplibre-gl/dist/$file" "$VENDOR/$file"
        say "copied maplibre-gl/dist/$file into explore/static/explore/vendor"
    fi
done

if [[ $ACTIONS -eq 0 ]]; then echo "bootstrap: ok"; else echo "bootstrap: done"; fi
