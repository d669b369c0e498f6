# clinsynth: `make demo` and `make test` do all the set-up from a fresh clone.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
# The CPU build of torch that lies on this machine's disk; a GPU host overrides it, e.g.
# make TORCH_SPEC="torch==2.13.0 --index-url <its CUDA wheel index>" (see deploy/README.md).
TORCH_SPEC ?= torch==2.13.0
DEMO_PROMPT ?= 8-year-old boy with Ewing sarcoma, chemotherapy and radiotherapy

.PHONY: install demo test test-slow test-browser check corpus clean bench-throughput bench-eval

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet $(TORCH_SPEC)
	@echo "installing clinsynth and its dependencies (llama-cpp-python compiles on first install, ~7 min)"
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/clinsynth ingest knowledge/
	$(BIN)/clinsynth generate --prompt "$(DEMO_PROMPT)" --count 3 --seed 7
	@echo
	@echo "To see them in the web UI: $(BIN)/clinsynth serve, then open http://127.0.0.1:8000/ui"

test: $(STAMP)
	$(BIN)/python -m pytest

# The tests marked slow (all of ../shared/corpus/real ingested, every scan OCRed: minutes).
test-slow: $(STAMP)
	$(BIN)/python -m pytest -m slow

# The web UI in a real browser: Debian's Chromium (apt-get install chromium) driven by
# Playwright against a real server with the embedded model (minutes). Under CI=true a
# missing Chromium fails these tests; elsewhere they skip saying why.
test-browser: $(STAMP)
	$(BIN)/python -m pytest -m browser tests/browser

check: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# Records per minute with 1, 2 and 4 concurrent generations, against one model server and
# in-process (a few minutes; never part of `make test`). LLAMA_SERVER=path/to/llama-server
# measures llama.cpp's batching server instead of llama-cpp-python's (deploy/README.md).
bench-throughput: $(STAMP)
	$(BIN)/python bench/throughput.py $(if $(LLAMA_SERVER),--llama-server $(LLAMA_SERVER))

corpus: $(STAMP)
	$(BIN)/python knowledge/corpus/render.py

clean:
	rm -rf var .pytest_cache .mypy_cache .ruff_cache

# The full `clinsynth eval` (60+ requests, each also with the random-choice baseline) on the
# bundled corpus ingested into a temporary home (tens of minutes; never part of `make test`).
# The report JSON is kept in var/bench-eval.json.
bench-eval: $(STAMP)
	mkdir -p var && home=$$(mktemp -d) && CLINSYNTH_HOME=$$home $(BIN)/clinsynth ingest knowledge/ \
	  && CLINSYNTH_HOME=$$home $(BIN)/clinsynth eval -o var/bench-eval.json $(EVAL_ARGS); \
	  status=$$?; rm -rf $$home; exit $$status
