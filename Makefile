# reviewmgr: `make run` to try it, `make test` to check it. Nothing else is needed.
.PHONY: install run test lint screenshots clean

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

install: $(STAMP)

run: install
	DEBUG=1 $(BIN)/python manage.py migrate --noinput
	DEBUG=1 $(BIN)/python manage.py load_seed_review --demo-users
	@echo
	@echo "  reviewmgr is running at http://$(HOST):$(PORT)/"
	@echo "  Log in as 'lead' (lead of the seed review), 'reviewer1' or 'reviewer2'"
	@echo "  with the password printed above (set DEMO_PASSWORD to choose your own)."
	@echo
	DEBUG=1 $(BIN)/python manage.py runserver $(HOST):$(PORT)

test: install
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check .

# The README's pictures: the browser journey, saving a screenshot at each step into docs/img/.
screenshots: install
	REVIEWMGR_SCREENSHOTS=1 $(BIN)/python -m pytest tests/e2e -q

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache
