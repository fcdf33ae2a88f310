# Icebox: `make run` serves the app with demo data, `make test` runs the test suite.
# Both first run scripts/bootstrap.sh (Debian packages, PostgreSQL + PostGIS, .venv);
# everything is idempotent, so re-running is fast.
.PHONY: help bootstrap bootstrap-tests run test manage

PY := .venv/bin/python
DATABASE_URL ?= postgis://icebox:icebox@127.0.0.1:5432/icebox
export DATABASE_URL

# Environment of `make run` and `make manage` (each can be overridden from the environment or the command line).
run manage: export DEBUG ?= 0
run manage: export ALLOWED_HOSTS ?= 127.0.0.1,localhost
# make run serves plain HTTP on 127.0.0.1: session cookies cannot require HTTPS there.
run manage: export ICEBOX_SECURE_COOKIES ?= 0
# An engine server started on this machine (see docs/import.md) can be imported from.
run manage: export ICEBOX_ENGINE_SERVERS ?= http://127.0.0.1:8800
# Tests need a key; this one signs nothing that outlives the test database.
test: export SECRET_KEY ?= test-only-secret-key-not-for-production-use
ifndef SECRET_KEY
run manage: var/secret_key
run manage: export SECRET_KEY = $(shell cat var/secret_key 2>/dev/null)
endif

help:
	@echo "make run        set up, migrate, load demo data, serve on http://127.0.0.1:8000"
	@echo "make test       set up, run the pytest suite (extra args: PYTEST_ARGS='-k foo')"
	@echo "make bootstrap  set up only"
	@echo "make manage CMD='drf_create_token alice'   a manage.py command with make run's settings"
	@echo "make bench      the map-serving benchmark (a few minutes)"
	@echo "make bench-slow slow clients streaming whole maps beside tiles and lists (about 6 minutes)"
	@echo "make bench-parsing  uploads of 100k/1M-site maps and a GMF zip against COPY by hand (about 5 minutes)"
	@echo "make bench-bytes a 2 GB engine file imported, downloaded raw and uploaded, against cp and a socket copy (a few minutes)"
	@echo "make bench-artifacts  uploads, reads, tiles and the list with 100,000 artifacts against one (about 3 minutes)"
	@echo "make bench-cpu  CPU per tile, TileJSON and /site request, in-process, Python and database apart (about 1 minute)"

bootstrap:
	@bash scripts/bootstrap.sh

# The same, and the Debian packages only the tests use (QGIS).
bootstrap-tests:
	@bash scripts/bootstrap.sh --tests

# A manage.py command with the same settings as `make run`, e.g. make manage CMD='createsuperuser'.
manage: bootstrap
	$(PY) manage.py $(CMD)

var/secret_key:
	@mkdir -p var
	@(umask 077 && head -c 48 /dev/urandom | base64 | tr -d '\n+/=' > $@.tmp) && mv $@.tmp $@
	@echo "generated $@ (SECRET_KEY for make run)"

run: bootstrap
	$(PY) manage.py migrate --noinput
	$(PY) manage.py icebox_demo --password-file var/demo_password
	$(PY) manage.py collectstatic --noinput
	exec scripts/serve.sh

# pytest exits 5 when it collected no tests: that must fail, and say so.
test: bootstrap-tests
	@echo "$(PY) -m pytest $(PYTEST_ARGS)"
	@$(PY) -m pytest $(PYTEST_ARGS); rc=$$?; \
	  if [ $$rc -eq 5 ]; then echo "make test: FAILED: pytest collected no tests" >&2; fi; exit $$rc

# Benchmark of the map reads against one SQL statement each (docs/maps.md): creates and drops
# its own database (icebox_bench), a few minutes. Extra args: BENCH_ARGS='--runs 3'.
.PHONY: bench
bench: bootstrap
	$(PY) bench/maps.py $(BENCH_ARGS)

# Uploads through HTTP against loading the same CSV by hand in SQL (COPY, points, GiST; README,
# Performance): its own database (icebox_bench_parsing), about 5 minutes. Extra args: BENCH_ARGS='--files 100k'.
.PHONY: bench-parsing
bench-parsing: bootstrap
	$(PY) bench/parsing.py $(BENCH_ARGS)

# Slow clients reading whole maps while others read tiles and lists (README, Server model):
# its own database (icebox_bench_slow), about 6 minutes. Extra args: BENCH_ARGS='--sites 100000'.
.PHONY: bench-slow
bench-slow: bootstrap
	$(PY) bench/slow_clients.py $(BENCH_ARGS)

# A 2 GB engine file imported by a worker, downloaded raw and uploaded over HTTP, against cp and a
# plain socket copy in the same run, with the peak RSS of web and worker (README, Storage): its own
# database (icebox_bench_bytes) and blob directory. Extra args: BENCH_ARGS='--bytes 5000000000'.
.PHONY: bench-bytes
bench-bytes: bootstrap
	$(PY) bench/bytes.py $(BENCH_ARGS)

# Uploads, reads, tiles and the list page with 100,000 artifacts against the same with one
# (README, Storage layout): its own database (icebox_bench_artifacts), about 3 minutes.
# Extra args: BENCH_ARGS='--artifacts 20000 --runs 15'.
.PHONY: bench-artifacts
bench-artifacts: bootstrap
	$(PY) bench/artifacts.py $(BENCH_ARGS)

# The fixed per-request cost of the small map reads as CPU time, Python and the database session
# apart, through Django's WSGI handler without a socket (less noisy than bench's wall times on a
# shared machine): its own database (icebox_bench_cpu), about a minute. Extra args: BENCH_ARGS='--only z12,tilejson'.
.PHONY: bench-cpu
bench-cpu: bootstrap
	$(PY) bench/request_cpu.py $(BENCH_ARGS)
