# poq: `make run` sets up what is missing and runs the main job;
# `make test` sets up what is missing and runs the whole test suite.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SLITHER_VENV := .venv-slither
export PATH := $(CURDIR)/node_modules/.bin:$(CURDIR)/$(BIN):$(PATH)

.PHONY: setup solc run lint test clean

setup: node_modules/.installed $(VENV)/.installed solc $(SLITHER_VENV)/.installed

# npm ci installs exactly package-lock.json: Anvil, forge, cast, solc, OpenZeppelin.
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# llama-cpp-python compiles llama.cpp when it installs, by default for the CPU it builds on
# (-march=native), and pip caches that wheel: on a machine with another CPU it dies with
# "Illegal instruction". So it is built without the pip cache for x86-64-v3 (AVX2, FMA, F16C:
# any x86 server CPU of the last decade), kept in a cache of its own named for those flags (a
# fresh clone on the same machine reuses it; a fresh machine builds it, about 5 minutes), and
# installed from .whl/.
LLAMA_CPP := llama-cpp-python==0.3.36
LLAMA_CMAKE := -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON
LLAMA_CACHE := $(HOME)/.cache/poq/wheels/llama-cpp-python-0.3.36-x86-64-v3
.whl/.built: requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	ls $(LLAMA_CACHE)/llama_cpp_python-*.whl >/dev/null 2>&1 || { \
		rm -rf $(LLAMA_CACHE).tmp && mkdir -p $(LLAMA_CACHE).tmp && \
		CMAKE_ARGS="$(LLAMA_CMAKE)" $(BIN)/pip wheel --quiet --disable-pip-version-check --no-cache-dir \
			--no-deps -c requirements.lock -w $(LLAMA_CACHE).tmp "$(LLAMA_CPP)" && \
		rm -rf $(LLAMA_CACHE) && mv $(LLAMA_CACHE).tmp $(LLAMA_CACHE); }
	rm -rf .whl && mkdir -p .whl && cp $(LLAMA_CACHE)/llama_cpp_python-*.whl .whl/
	touch $@

# The Python set is frozen in requirements.lock (pip freeze of a working install).
$(VENV)/.installed: pyproject.toml requirements.lock .whl/.built
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check --force-reinstall --no-deps .whl/llama_cpp_python-*.whl
	$(BIN)/pip install --quiet --disable-pip-version-check --find-links .whl -c requirements.lock -e '.[dev]'
	touch $@

# slither (static analysis of contracts/, gated by tests/contract/test_slither.py)
# lives in its own venv, pinned by requirements-slither.txt (why apart: see there).
# It runs offline with the compiler registered by `solc` (--solc <that file>).
$(SLITHER_VENV)/.installed: requirements-slither.txt
	test -x $(SLITHER_VENV)/bin/python || $(PYTHON) -m venv $(SLITHER_VENV)
	$(SLITHER_VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-slither.txt
	touch $@

# The offline compiler, registered where py-solc-x and ape-solidity look for it
# (~/.solcx/solc-v0.8.28, pointing at this checkout's tools/solc.js; rewritten only if it differs).
solc: node_modules/.installed $(VENV)/.installed
	@$(BIN)/python -m oracle.chain.toolchain >/dev/null

run: setup
	$(BIN)/poq run
	$(BIN)/poq simulate

# Debian's Chromium drives the explorer's browser tests (Playwright never downloads one).
/usr/bin/chromium:
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null

# The layout cannot drift back: lint (ruff), the layers (import-linter), types (mypy), contract format (forge).
lint: setup
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/mypy
	forge fmt --check contracts

test: setup /usr/bin/chromium lint
	HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 $(BIN)/ape test tests

clean:
	rm -rf .build .venv node_modules
