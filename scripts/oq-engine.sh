#!/usr/bin/env bash
# Install and drive a real OpenQuake Engine 3.26.2 for Icebox's integration tests and demos.
#
#   scripts/oq-engine.sh install                 create (once) + warm the engine venv; prints its path last
#   scripts/oq-engine.sh path                    print the venv path (no install)
#   scripts/oq-engine.sh prepare DATADIR         write DATADIR/openquake.cfg and create/upgrade its db
#   scripts/oq-engine.sh run-calc DATADIR JOB_INI   oq engine --run JOB_INI against DATADIR
#   scripts/oq-engine.sh serve DATADIR PORT [restricted]
#                                                runserver on 127.0.0.1:PORT in the foreground; with
#                                                `restricted`, migrate first and create the users of
#                                                ICEBOX_OQ_USERS='{"admin": "pw", "alice": "pw"}'
#                                                (`admin` becomes a superuser)
#   scripts/oq-engine.sh run [--restricted] DATADIR CMD [ARG...]
#                                                run CMD in the engine environment of DATADIR
#   scripts/oq-engine.sh environ [--restricted] DATADIR
#                                                print that environment, NUL-separated (env -0), for
#                                                programs that start engine processes themselves
#   scripts/oq-engine.sh env DATADIR             print `export ...` lines for an interactive shell
#   scripts/oq-engine.sh prune                   delete cached engine venvs other than the current one
#
# The venv lives OUTSIDE the repo, in ${ICEBOX_OQ_CACHE:-/var/cache/icebox}/oq-engine-3.26.2-<hash>,
# <hash> = first 12 hex digits of sha256(scripts/requirements-oq.txt); it is reused while the
# requirements file is unchanged. The engine pins Django 4.2: never install it into Icebox's .venv.
# Other knobs: ICEBOX_OQ_PYTHON (interpreter for the venv, default python3, must be 3.11),
# ICEBOX_OQ_LOCK_TIMEOUT (s to wait for a concurrent install, default 1800).
# Everything but the final path goes to stderr.
set -euo pipefail

OQ_VERSION=3.26.2
SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REQ=$SCRIPT_DIR/requirements-oq.txt
CACHE=${ICEBOX_OQ_CACHE:-/var/cache/icebox}
HASH=$(sha256sum "$REQ" | cut -c1-12)
VENV=$CACHE/oq-engine-$OQ_VERSION-$HASH
STAMP=$VENV/.icebox-install-complete

log() { printf '[oq-engine.sh] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

venv_ok() {
    [[ -f $STAMP && -x $VENV/bin/python ]] && "$VENV/bin/python" -c '' 2>/dev/null
}

do_install() {
    if venv_ok; then
        log "engine venv already complete: $VENV"
        echo "$VENV"
        return 0
    fi
    mkdir -p "$CACHE"
    # One installer at a time per venv (parallel CI jobs / pytest-xdist workers).
    exec 9>"$CACHE/.oq-engine-$OQ_VERSION-$HASH.lock"
    log "waiting for the install lock ..."
    flock -w "${ICEBOX_OQ_LOCK_TIMEOUT:-1800}" 9 || die "timed out waiting for $CACHE/.oq-engine-$OQ_VERSION-$HASH.lock"
    if venv_ok; then  # somebody else finished it while we waited
        log "engine venv completed by a concurrent install: $VENV"
        echo "$VENV"
        return 0
    fi

    local py real pyver t0 t1 t2
    py=${ICEBOX_OQ_PYTHON:-python3}
    command -v "$py" >/dev/null || die "no $py on PATH (set ICEBOX_OQ_PYTHON)"
    # resolve shims (pyenv) to the real interpreter the venv will point at
    real=$("$py" -c 'import sys; print(sys.executable)')
    pyver=$("$real" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
    [[ $pyver == 3.11 ]] || die "$real is Python $pyver; requirements-oq.txt is pinned for Python 3.11"

    t0=$(date +%s)
    log "creating $VENV (incomplete leftovers are removed first)"
    rm -rf "$VENV"
    "$real" -m venv "$VENV"
    export PIP_CACHE_DIR=${PIP_CACHE_DIR:-$CACHE/pip-cache} PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1
    local pip=("$VENV/bin/python" -m pip install --progress-bar off)
    # Dependencies first (fully pinned, no gdal), then the engine without its dependencies:
    # in this order pip never sees the unsatisfiable gdal~=3.13.1 requirement.
    log "pip install -r $REQ"
    "${pip[@]}" -r "$REQ" >&2
    log "pip install --no-deps openquake-engine==$OQ_VERSION"
    "${pip[@]}" --no-deps "openquake-engine==$OQ_VERSION" >&2
    t1=$(date +%s)

    # RESTRICTED mode needs the e-mail templates that the package ships only as *.default.tmpl.
    local site tdir f
    site=$("$VENV/bin/python" -c 'import openquake, os; print(os.path.dirname(openquake.__path__[0]))')
    tdir=$site/openquake/server/templates/registration
    for f in "$tdir"/*.default.tmpl; do cp -n "$f" "${f%.default.tmpl}"; done

    # Warm-up: the first `oq` command compiles (numba, into the venv's __pycache__) for ~1 min.
    # Run it with a throw-away HOME/config so nothing lands in ~ or in a shared database.
    mkdir -p "$VENV/var/matplotlib"
    local warm out
    warm=$(mktemp -d)
    printf '[dbserver]\nfile = %s/db.sqlite3\n' "$warm" >"$warm/openquake.cfg"
    log "warming up (first oq command, ~1 min) ..."
    out=$(env -u DJANGO_SETTINGS_MODULE -u PYTHONPATH -u OQ_APPLICATION_MODE \
        HOME="$warm" XDG_CACHE_HOME="$warm/.cache" XDG_CONFIG_HOME="$warm/.config" \
        OQ_CONFIG_FILE="$warm/openquake.cfg" OQ_DATADIR="$warm" CI=1 \
        MPLCONFIGDIR="$VENV/var/matplotlib" "$VENV/bin/oq" --version) || { rm -rf "$warm"; die "oq --version failed"; }
    rm -rf "$warm"
    [[ $out == "$OQ_VERSION" ]] || die "oq --version printed '$out', expected $OQ_VERSION"
    t2=$(date +%s)

    printf 'openquake-engine %s\nrequirements sha256 %s\npython %s\ninstalled %s\ninstall_s %s\nwarmup_s %s\n' \
        "$OQ_VERSION" "$(sha256sum "$REQ" | cut -d' ' -f1)" "$real" "$(date -u +%FT%TZ)" \
        $((t1 - t0)) $((t2 - t1)) >"$STAMP"   # written last: marks the venv complete
    log "installed in $((t1 - t0)) s, warmed up in $((t2 - t1)) s"
    echo "$VENV"
}

need_venv() { venv_ok || die "engine venv missing or incomplete: run '$0 install' first"; }

# The environment of every engine process, whoever starts it: this script's commands, and
# tests/engine_harness.py through `environ`. The one definition: change it here only.
# Scrubbed: variables of the calling process that must not reach the engine. Icebox's Django
# settings would be picked up by the engine's manage.py (it only does setdefault); an inherited
# OQ_APPLICATION_MODE would turn a public server into a restricted one; any other OQ_* changes
# how the engine runs.
SCRUBBED=(DJANGO_SETTINGS_MODULE DJANGO_CONFIGURATION PYTHONPATH PYTHONHOME PYTHONSTARTUP
          PYTHONUSERBASE VIRTUAL_ENV EMAIL_BACKEND LOCKDOWN WEBUI_PATHPREFIX DATABASE_URL)
set_engine_env() {  # DATADIR [public|restricted]
    local d v mode=${2:-public}
    d=$(realpath -m "$1")
    mkdir -p "$d/.home"
    unset "${SCRUBBED[@]}"
    for v in $(compgen -e); do
        if [[ $v == OQ_* ]]; then unset "$v"; fi
    done
    # Nothing may land in the real ~ (matplotlib cache, ~/openquake.cfg lookup, numba fallback);
    # the font cache is built once, at install; CI makes the engine skip its update check (a
    # network call).
    export OQ_DATADIR=$d OQ_CONFIG_FILE=$d/openquake.cfg HOME=$d/.home \
        XDG_CACHE_HOME=$d/.home/.cache XDG_CONFIG_HOME=$d/.home/.config XDG_DATA_HOME=$d/.home/.local/share \
        MPLCONFIGDIR=$VENV/var/matplotlib PATH=$VENV/bin:${PATH:-/usr/bin:/bin} CI=${CI:-1} PYTHONUNBUFFERED=1
    case $mode in
    public) export OQ_APPLICATION_MODE=PUBLIC ;;
    restricted) export OQ_APPLICATION_MODE=RESTRICTED EMAIL_BACKEND=django.core.mail.backends.console.EmailBackend ;;
    *) die "unknown mode '$mode' (public or restricted)" ;;
    esac
}

# The engine finds this config through OQ_CONFIG_FILE (read after $VIRTUAL_ENV/openquake.cfg and
# ~/openquake.cfg, so it wins): every data dir has its own sqlite db, accessed directly (no
# DbServer process or port). The check proves the engine really reads it.
PREPARE_CODE='
import json, os, sys
from openquake.baselib import config
from openquake.commonlib import logs
datadir = os.environ["OQ_DATADIR"]
db = os.path.realpath(os.path.expanduser(config.dbserver.file))
want = os.path.realpath(os.path.join(datadir, "db.sqlite3"))
if db != want or logs.get_datadir() != datadir:
    sys.exit(f"engine config not isolated: db={db} (want {want}), "
             f"datadir={logs.get_datadir()}, config files read: {config.found}")
logs.dbcmd("upgrade_db")
print(json.dumps({"db": db, "config_files": config.found}))
'
do_prepare() {
    local d
    d=$(realpath -m "$1")
    mkdir -p "$d"
    printf '# written by scripts/oq-engine.sh (found through OQ_CONFIG_FILE)\n[dbserver]\nfile = %s/db.sqlite3\nhost = 127.0.0.1\n' \
        "$d" >"$d/openquake.cfg"
    set_engine_env "$d"
    (cd "$d" && "$VENV/bin/python" -c "$PREPARE_CODE") >&2
}

cmd=${1:-}
case $cmd in
install)
    do_install
    ;;
path)
    echo "$VENV"
    ;;
prepare)
    [[ $# -eq 2 ]] || die "usage: $0 prepare DATADIR"
    need_venv
    do_prepare "$2"
    ;;
run-calc)
    [[ $# -eq 3 ]] || die "usage: $0 run-calc DATADIR JOB_INI"
    need_venv
    job=$(realpath "$3")
    [[ -f $(realpath -m "$2")/openquake.cfg ]] || do_prepare "$2"
    set_engine_env "$2"
    cd "$OQ_DATADIR"
    exec "$VENV/bin/oq" engine --run "$job"
    ;;
serve)
    [[ $# -eq 3 || $# -eq 4 ]] || die "usage: $0 serve DATADIR PORT [restricted]"
    need_venv
    [[ -f $(realpath -m "$2")/openquake.cfg ]] || do_prepare "$2"
    [[ -z ${4:-} || ${4:-} == restricted ]] || die "unknown mode '$4' (only 'restricted')"
    set_engine_env "$2" "${4:-public}"
    cd "$OQ_DATADIR"
    if [[ ${4:-} == restricted ]]; then
        "$VENV/bin/python" -m openquake.server.manage migrate --noinput >&2
        if [[ -n ${ICEBOX_OQ_USERS:-} ]]; then
            "$VENV/bin/python" -m openquake.server.manage shell -c '
import json, os
from django.contrib.auth import get_user_model
User = get_user_model()
for name, pw in json.loads(os.environ["ICEBOX_OQ_USERS"]).items():
    u, _ = User.objects.get_or_create(username=name, defaults={"email": name + "@example.org"})
    u.set_password(pw)
    u.is_superuser = u.is_staff = (name == "admin")
    u.save()
    u.profile.level = 2 if name == "admin" else 0
    u.profile.save()
'
        fi
    fi
    exec "$VENV/bin/python" -m openquake.server.manage runserver "127.0.0.1:$3" --noreload
    ;;
run | environ)
    mode=public
    if [[ ${2:-} == --restricted ]]; then
        mode=restricted
        set -- "$1" "${@:3}"
    fi
    [[ $cmd == environ && $# -eq 2 || $cmd == run && $# -ge 3 ]] \
        || die "usage: $0 run [--restricted] DATADIR CMD [ARG...] | environ [--restricted] DATADIR"
    need_venv
    set_engine_env "$2" "$mode"
    if [[ $cmd == environ ]]; then exec env -0; fi
    shift 2
    exec "$@"
    ;;
env)
    [[ $# -eq 2 ]] || die "usage: $0 env DATADIR"
    need_venv
    set_engine_env "$2"
    # HOME/XDG_* are left out: an interactive shell keeps its own home.
    for v in OQ_DATADIR OQ_CONFIG_FILE MPLCONFIGDIR CI; do
        printf 'export %s=%q\n' "$v" "${!v}"
    done
    # shellcheck disable=SC2016  # $PATH is expanded by the shell that evals this
    printf 'export PATH=%q:"$PATH"\n' "$VENV/bin"
    ;;
prune)
    shopt -s nullglob
    for d in "$CACHE"/oq-engine-*; do
        [[ -d $d && $d != "$VENV" ]] || continue
        log "removing $d"
        rm -rf "$d"
    done
    ;;
*)
    sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//' >&2
    exit 2
    ;;
esac
