#!/usr/bin/env bash
# The service, as `make run` starts it: the import worker beside gunicorn.
# - Ctrl-C, or a SIGTERM or SIGINT to this script, stops both (a second one without waiting for
#   requests and imports in progress); the script then exits 0 saying "serve.sh: stopped".
# - If either one dies (a crash, the OOM killer, kill -9, a failed start), the script stops the
#   other, says which died and how (its exit status or signal) and exits 1. It does not restart
#   it: a site whose imports never run, or a worker with no site, must not pass for a working
#   service, and restarting belongs to whatever runs the service (systemd's Restart=on-failure,
#   a container runtime), which sees the exit status.
# A shell runs its traps only between commands or while it waits, so both run in the
# background and the script waits for whichever ends first (bash 5.1's wait -n -p).
# Settings come from the environment (see README); ICEBOX_BIND (default 127.0.0.1:8000) and
# ICEBOX_WEB_WORKERS (default 2) choose where gunicorn listens and how many workers it forks.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

stopping= worker= server=
on_signal() {
    if [[ -z $stopping ]]; then
        stopping=$1
    else  # a second one: stop now, without waiting for requests and imports in progress
        kill -TERM "$worker" 2>/dev/null
        kill -INT "$server" 2>/dev/null
    fi
}
trap 'on_signal SIGINT' INT
trap 'on_signal SIGTERM' TERM

.venv/bin/python manage.py icebox_worker &
worker=$!
# gunicorn in a process group of its own (job control on for that one start): if its master
# dies, its workers are no longer this script's children, but a signal to the group still
# reaches them.
set -m
.venv/bin/gunicorn -c gunicorn.conf.py icebox.wsgi:application &
server=$!
set +m

name() {
    if [[ $1 == "$worker" ]]; then echo "the import worker (pid $1)"; else echo "gunicorn (pid $1)"; fi
}

how() {  # an exit status as the shell reports it: 128 + N for "killed by signal N"
    local signal
    if (($1 > 128)) && signal=$(kill -l $(($1 - 128)) 2>/dev/null); then
        echo "was killed by SIG$signal"
    else
        echo "exited with status $1"
    fi
}

stop() {  # SIGTERM to both, then wait until all of gunicorn and the worker have ended
    kill -TERM "$worker" "$server" 2>/dev/null
    local pid
    for pid in "$worker" "$server"; do
        while kill -0 "$pid" 2>/dev/null; do wait "$pid"; done  # a trap may cut a wait short
    done
    # A master that died first left its workers behind: not children, so signalled as its
    # process group and polled.
    kill -TERM -- "-$server" 2>/dev/null || return 0
    for _ in $(seq 300); do
        kill -0 -- "-$server" 2>/dev/null || return 0
        sleep 0.1
    done
}

ended=
while [[ -z $stopping && -z $ended ]]; do
    wait -n -p ended "$worker" "$server"
    status=$?
done

if [[ -n $stopping ]]; then
    stop
    echo "serve.sh: stopped ($stopping)"
    exit 0
fi
other=$server
[[ $ended == "$server" ]] && other=$worker
echo "serve.sh: $(name "$ended") $(how "$status"); stopping $(name "$other")" >&2
stop
exit 1
