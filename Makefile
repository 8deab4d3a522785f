# pynemea: `make demo` and `make test` set up everything on a fresh Debian/Ubuntu machine.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: setup system test lint demo bench clean

# Bytecode for the sources (cheap when nothing changed): module processes start faster.
setup: $(STAMP)
	@$(PY) -m compileall -q unirec libtrap_py modules supervisor >/dev/null

# System packages that pypcap needs to build (libpcap headers, a C compiler, Python headers,
# venv). Installed only when missing: directly as root, through sudo otherwise.
system:
	@sh .ci/system-packages.sh

# Editable install through hatchling: a plain path entry in a .pth file, not an import hook
# that loads pathlib and importlib.util into every Python process (about 15 ms per start).
$(STAMP): pyproject.toml
	@$(MAKE) --no-print-directory system
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -e '.[test]'
	@# nothing here needs setuptools (builds run isolated); its distutils-precedence.pth
	@# imports a hook into every Python process the venv starts (about 1 ms each)
	$(PY) -m pip uninstall -q -y --disable-pip-version-check setuptools
	@touch $(STAMP)

lint: setup
	$(VENV)/bin/ruff check .

test: setup lint
	$(VENV)/bin/pytest -q

demo: setup
	@$(PY) -m supervisor.demo

bench: setup
	$(PY) bench/unirec_codec.py

clean:
	rm -rf $(VENV) demo-output .pytest_cache .ruff_cache
