# Two commands do all set-up on a fresh machine with Python 3.11+ and make:
#   make run    venv + dependencies, embedded PostgreSQL/Redis, migrations, demo data,
#               Daphne + Celery worker + beat; prints the URLs and demo accounts
#   make test   the whole test suite against real PostgreSQL and Redis
PYTHON ?= $(shell for p in python3 python3.13 python3.12 python3.11; do $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1 && { echo $$p; break; }; done)
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 8000

.PHONY: install run test bench bench-hot services services-down migrate seed clean

install: $(VENV)/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt
	@test -n "$(PYTHON)" || { echo 'Python 3.11+ is required'; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --disable-pip-version-check -q -r requirements-dev.txt
	@touch $@

run: install
	@$(BIN)/python scripts/ensure_pdf_libs.py
	PORT=$(PORT) $(BIN)/python scripts/run.py

test: install
	@$(BIN)/python scripts/ensure_browser.py
	@$(BIN)/python scripts/ensure_haproxy.py
	@$(BIN)/python scripts/ensure_pdf_libs.py
	$(BIN)/python scripts/run_tests.py $(ARGS)

# make bench: the gateway against bare websockets, memory per connection, then the hot write paths (couriers, bids, chat)
# on real recorded input; bench/README.md. `make bench-hot ARGS=--quick` is a smoke run.
bench: install
	$(BIN)/python bench/gateway.py
	$(BIN)/python bench/hot_paths.py --readme
	$(BIN)/python bench/memory_churn.py

bench-hot: install
	$(BIN)/python bench/hot_paths.py $(ARGS)

services: install
	$(BIN)/python -m core.embedded up

services-down: install
	$(BIN)/python -m core.embedded down

# Development helpers on the development stack: DEBUG on unless the environment says otherwise.
migrate: install
	DEBUG=$${DEBUG:-1} $(BIN)/python manage.py migrate --noinput

seed: install
	DEBUG=$${DEBUG:-1} $(BIN)/python manage.py seed_demo

clean: services-down
	rm -rf .data
