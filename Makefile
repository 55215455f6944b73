# `make benchmark` and `make test` do all set-up: a virtual environment in .venv (created if
# missing), the package and its dependencies (installed once, again when pyproject.toml changes).
PYTHON ?= python3
VENV   ?= .venv
# The CPU build of torch; pass e.g. TORCH=torch to take the default (CUDA) build on a GPU machine.
TORCH  ?= torch==2.13.0
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.xaibench-installed

.PHONY: benchmark test install clean

benchmark: $(STAMP)
	$(BIN)/xaibench run

test: $(STAMP)
	$(BIN)/python -m pytest --junitxml=$(VENV)/junit.xml

install: $(STAMP)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV) || { echo "could not create $(VENV): on Debian, apt-get install python3-venv"; exit 1; }

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -c "import torch" 2>/dev/null || $(BIN)/python -m pip install --quiet "$(TORCH)"
	$(BIN)/python -m pip install --quiet -e ".[quantus,test]"
	touch $(STAMP)

clean:
	rm -rf $(VENV) results
