# Two commands: `make demo` and `make test`. Both set everything up from a fresh clone.
SHELL := /bin/bash
VENV := .venv
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | sha1sum | cut -c1-12)

.PHONY: demo test setup system-packages venv messages lint stop bench

demo: setup
	@scripts/demo.sh

test: setup
	@scripts/run_tests.sh

setup: system-packages venv messages

system-packages:
	@scripts/install_system_packages.sh

venv: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt
	@test -x $(VENV)/bin/python || python3 -m venv $(VENV)
	$(VENV)/bin/pip install --disable-pip-version-check -q -r requirements-dev.txt
	@rm -f $(VENV)/.installed-* && touch $@

# The zh-hans catalogue (.po, kept in the repo with its compiled .mo); needs gettext from system-packages.
messages: venv
	@$(VENV)/bin/python manage.py compilemessages -v0 --ignore=.venv --ignore=var

lint: venv
	$(VENV)/bin/ruff check .

stop:
	@scripts/stop.sh

bench: setup
	$(VENV)/bin/python bench/bench_engine.py
