# The two set-up commands of the README: `make run` and `make test`.
# Both install what is missing (scripts/setup.sh) and, without DATABASE_URL, use the private
# PostGIS cluster in .safemap/ (started on a free local port when needed).

PORT ?= 8000
VENV := .venv
SAFEMAP := $(VENV)/bin/safemap
PYTEST_ARGS ?=

.PHONY: run test setup lint format stop

run: setup
	@$(SAFEMAP) db migrate
	@$(SAFEMAP) demo load
	@$(SAFEMAP) demo accounts
	@$(SAFEMAP) serve --host 127.0.0.1 --port $(PORT)

test:
	@SAFEMAP_SETUP_BROWSER=1 scripts/setup.sh
	@$(VENV)/bin/python -m pytest $(PYTEST_ARGS)

setup:
	@scripts/setup.sh

lint: setup
	@$(VENV)/bin/ruff check .
	@$(VENV)/bin/ruff format --check .

format: setup
	@$(VENV)/bin/ruff format .
	@$(VENV)/bin/ruff check --fix .

stop:
	@$(SAFEMAP) db stop
