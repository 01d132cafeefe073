# reviewmgr: `make run` to try it, `make test` to check it. Nothing else is needed.
.PHONY: install run run-stack test lint screenshots clean

VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

# The first Python 3.12+ found: on PATH, then in pyenv's versions folder.
PYTHON_FOR_VENV := $(shell for c in python3.13 python3.12 python3.14 \
	$${PYENV_ROOT:-$$HOME/.pyenv}/versions/3.13*/bin/python3 \
	$${PYENV_ROOT:-$$HOME/.pyenv}/versions/3.12*/bin/python3 python3; do \
	p=$$(command -v $$c 2>/dev/null) || continue; \
	$$p -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null && { echo $$p; break; }; \
	done)

$(STAMP): pyproject.toml
	@test -n "$(PYTHON_FOR_VENV)" || { echo "reviewmgr needs Python 3.12 or newer: install one and run make again." >&2; exit 1; }
	@test -x $(BIN)/python || $(PYTHON_FOR_VENV) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[dev]"
	@touch $(STAMP)

# axe-core for the accessibility tests, pinned in package-lock.json; skipped without npm.
NPM_STAMP := node_modules/.installed
$(NPM_STAMP): package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
		npm ci --no-audit --no-fund && touch $(NPM_STAMP); \
	else echo "npm not found: the accessibility tests will be skipped (apt-get install npm)."; fi

install: $(STAMP) $(NPM_STAMP)

run: install
	DEBUG=1 $(BIN)/python manage.py migrate --noinput
	DEBUG=1 $(BIN)/python manage.py load_seed_review --demo-users
	@echo
	@echo "  reviewmgr is running at http://$(HOST):$(PORT)/"
	@echo "  Log in as 'lead' (lead of the seed review), 'reviewer1' or 'reviewer2'"
	@echo "  with the password printed above (set DEMO_PASSWORD to choose your own)."
	@echo
	DEBUG=1 $(BIN)/python manage.py runserver $(HOST):$(PORT)

# The production shape on this machine: gunicorn and a background worker on the local
# PostgreSQL and Redis (see docs/deploy.md). Plain HTTP on loopback, so no TLS settings.
# Each STACK_DB also gets a Redis database of its own (0-11, from its name; 12-15 are left to
# the tests) and a cache prefix named after it, so two stacks share neither queue nor cache.
# Should two names land on one number, STACK_REDIS_DB=N chooses another.
STACK_DB ?= reviewmgr
STACK_REDIS_DB ?= $(shell printf '%s' '$(STACK_DB)' | cksum | awk '{ print $$1 % 12 }')
STACK_ENV = DATABASE_URL=postgres://postgres@127.0.0.1:5432/$(STACK_DB) \
	TASKS_REDIS_URL=redis://127.0.0.1:6379/$(STACK_REDIS_DB) CACHE_KEY_PREFIX=$(STACK_DB) \
	DEBUG=0 ALLOWED_HOSTS=127.0.0.1,localhost \
	SECURE_SSL_REDIRECT=0 SESSION_COOKIE_SECURE=0 CSRF_COOKIE_SECURE=0 SECURE_HSTS_SECONDS=0
run-stack: install
	@psql -h 127.0.0.1 -U postgres -d postgres -Atc "select 1 from pg_database where datname = '$(STACK_DB)'" | grep -q 1 \
		|| createdb -h 127.0.0.1 -U postgres $(STACK_DB)
	$(STACK_ENV) $(BIN)/python manage.py migrate --noinput
	$(STACK_ENV) $(BIN)/python manage.py collectstatic --noinput -v0
	$(STACK_ENV) $(BIN)/python manage.py load_seed_review --demo-users
	@echo
	@echo "  reviewmgr (gunicorn, a background worker, PostgreSQL '$(STACK_DB)', Redis database $(STACK_REDIS_DB)) at http://$(HOST):$(PORT)/"
	@echo
	trap 'kill 0' INT TERM EXIT; \
	$(STACK_ENV) $(BIN)/python manage.py worker & \
	$(STACK_ENV) $(BIN)/gunicorn reviewmgr.wsgi --bind $(HOST):$(PORT) --workers $${WEB_CONCURRENCY:-3} \
		--timeout 120 --access-logfile - & \
	wait

test: install
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check .

# The README's pictures: the browser journey, saving a screenshot at each step into docs/img/.
screenshots: install
	REVIEWMGR_SCREENSHOTS=1 $(BIN)/python -m pytest tests/e2e -q

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache node_modules
