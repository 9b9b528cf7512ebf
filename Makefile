# `make demo` and `make test` work on a fresh machine: each creates .venv and installs the pinned
# dependencies when pyproject.toml or constraints.txt changed since the last install.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
STAMP := $(VENV)/.installed
PARALLEL ?= -n logical --maxprocesses 4 --dist load  # pytest-xdist, one test at a time per worker (up to 4); PARALLEL= runs one process

.PHONY: demo test test-fast check-gxx browser rtl-tools clean

$(STAMP): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; v = sys.version_info[:2]; sys.exit(0 if (3, 10) <= v <= (3, 11) else "codesign needs Python 3.10 or 3.11 (TensorFlow 2.14); found %d.%d: set PYTHON=python3.11" % v)'
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --upgrade pip
	$(VENV)/bin/python -m pip install --quiet -c constraints.txt -e '.[test,notebook]'
	touch $(STAMP)

check-gxx:
	@command -v g++ >/dev/null || { echo "error: g++ not found: the hls4ml emulation is compiled C++ (e.g. apt-get install g++)"; exit 2; }

browser:  # Debian's Chromium and its driver, for the test that opens report.html in a real browser
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || { \
	  echo "installing Debian's chromium and chromium-driver (report tests)"; \
	  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium chromium-driver; }

rtl-tools:  # Debian's Verilator and yosys, for the tests of the open-source RTL path (codesign rtl)
	@command -v verilator >/dev/null && command -v yosys >/dev/null || { \
	  echo "installing Debian's verilator and yosys (RTL tests)"; \
	  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q verilator yosys; }

demo: $(STAMP) check-gxx
	$(VENV)/bin/codesign build models/digits_cnn.yaml

test: $(STAMP) check-gxx browser rtl-tools
	$(VENV)/bin/python -m pytest $(PARALLEL)

test-fast: $(STAMP)
	$(VENV)/bin/python -m pytest $(PARALLEL) -m "not slow"

clean:
	rm -rf $(VENV)
