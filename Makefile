# One command to run the kiosk demo, one to test it. Both install what is missing first.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

# Debian/Ubuntu packages: CJK font, QR decoder library, virtual display, touch input library,
# PC/SC daemon and virtual reader, speech, software GL, what pyscard needs to build, the kernel
# headers python-evdev builds against, handwriting recognition (Zinnia and its Chinese model), and
# what tests/test_deploy.py checks systemd/ with (systemd-analyze, shellcheck).
SYSTEM_PACKAGES := fonts-noto-cjk libzbar0 xvfb xauth libmtdev1 pcscd vsmartcard-vpcd espeak-ng \
	libegl1 libgl1-mesa-dri swig libpcsclite-dev gcc chromium \
	linux-libc-dev libzinnia0 tegaki-zinnia-simplified-chinese systemd shellcheck

.PHONY: run test vpcd-ports lint fuzz powercut bench fleet soak setup system-deps tour clean i18n i18n-extract i18n-update i18n-compile

run: setup
	$(BIN)/kiosk demo

test: setup vpcd-ports
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q -n 4 --dist loadfile -m "not pcscd"
	$(BIN)/python -m pytest -q -m pcscd

# The fuzz tests (pytest -m fuzz) with FUZZ_SCALE times their examples and CENTRAL_FUZZ_EXAMPLES
# requests per platform operation; `make test` runs the same tests briefly. bench/FUZZ.md: a long run.
FUZZ_SCALE ?= 20
CENTRAL_FUZZ_EXAMPLES ?= 200
fuzz: setup
	FUZZ_SCALE=$(FUZZ_SCALE) CENTRAL_FUZZ_EXAMPLES=$(CENTRAL_FUZZ_EXAMPLES) \
	  $(BIN)/python -m pytest -q -m fuzz --timeout 0 --hypothesis-show-statistics -n 2 --dist loadfile

lint: setup
	$(BIN)/ruff check .

# Power cuts (bench/powercut.py): N SIGKILLs at random moments of the journeys that write, each
# followed by a restart on the same folder; then lost and duplicated are counted (bench/POWERCUT.md).
# (N and SEED: each campaign has its own defaults; soak's are 500 and 17)
powercut: setup
	$(BIN)/python bench/powercut.py --n $(or $(N),200) --seed $(or $(SEED),20261201) --report bench/POWERCUT.md

tour: setup
	$(BIN)/kiosk demo --headless --out var/tour

# Every benchmark of bench/, each in a process of its own, into bench/REPORT.md (about 15 minutes on
# 2 cores). BIG=1 adds the catalogue at 300k guides; LOAD_NOTE="..." says what else ran meanwhile.
bench: setup
	$(BIN)/python bench/run.py $(if $(BIG),--big) --command "make bench$(if $(BIG), BIG=1)" \
	  $(if $(LOAD_NOTE),--load-note "$(LOAD_NOTE)")

# Fleet load on the reference platform (bench/FLEET.md): locust simulating TERMINALS signed terminals
# against the platform on a throwaway PostgreSQL (FLEET_DB=sqlite: a SQLite file) under each of
# WORKERS uvicorn worker counts, measured for DURATION seconds after a warm-up of WARMUP seconds
# that follows the start of the last terminal (SPAWN_RATE a second); the results go to bench/FLEET.md.
TERMINALS ?= 2000
DURATION ?= 60
WORKERS ?= 1 2 4
WARMUP ?= 30
SPAWN_RATE ?= 100
FLEET_DB ?= postgres

fleet: setup
	$(BIN)/python bench/fleet.py --terminals $(TERMINALS) --duration $(patsubst %s,%,$(DURATION)) \
	  --workers $(WORKERS) --warmup $(patsubst %s,%,$(WARMUP)) --spawn-rate $(SPAWN_RATE) --db $(FLEET_DB) \
	  --write bench/FLEET.md

# N citizens in a row through the real app with faulty devices and network, then the comparison
# with the platform and the privacy audit (bench/soak.py); the summary goes to bench/SOAK.md.
soak: setup
	$(BIN)/python bench/soak.py --sessions $(or $(N),500) --seed $(or $(SEED),17) --out var/soak --report bench/SOAK.md

setup: system-deps $(STAMP)
	@$(MAKE) -s i18n-compile

# Translations (docs/translating.md): the message ids the code uses -> kiosk/locale/kiosk.pot ->
# each language's kiosk/locale/<lang>/LC_MESSAGES/kiosk.po (new ids empty, dropped ones obsolete);
# the .mo files the kiosk reads are built from the PO files, never committed.
LOCALE := kiosk/locale
POT ?= $(LOCALE)/kiosk.pot

i18n: i18n-extract i18n-update i18n-compile

i18n-extract: $(STAMP)
	$(BIN)/pybabel -q extract -F pyproject.toml --add-location=file --sort-output \
	  --project=hall-kiosk --copyright-holder="hall kiosk authors" -o $(POT) kiosk screens
	@# a template whose only change is its creation date is not a change (no churn in commits)
	@git diff --quiet -I '^"POT-Creation-Date' -- $(POT) 2>/dev/null && git checkout -q -- $(POT) 2>/dev/null || true

i18n-update: $(STAMP)
	$(BIN)/pybabel -q update -i $(POT) -d $(LOCALE) -D kiosk --no-fuzzy-matching --ignore-pot-creation-date

i18n-compile: $(STAMP)
	$(BIN)/pybabel -q compile -d $(LOCALE) -D kiosk

system-deps:
	@missing=""; \
	for p in $(SYSTEM_PACKAGES); do \
	  dpkg -s $$p >/dev/null 2>&1 || dpkg -s $${p}t64 >/dev/null 2>&1 || missing="$$missing $$p"; \
	done; \
	$(PY) -c 'import ensurepip' 2>/dev/null || missing="$$missing python3-venv"; \
	[ -f "$$($(PY) -c 'import sysconfig; print(sysconfig.get_paths()["include"])')/Python.h" ] || missing="$$missing python3-dev"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then SUDO=""; \
	  elif command -v sudo >/dev/null 2>&1; then SUDO="sudo"; \
	  else echo "Missing Debian packages:$$missing - install them as root and run make again." >&2; exit 1; fi; \
	  echo "Installing Debian packages:$$missing"; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi

# vpcd (the virtual card reader the PC/SC tests use) listens on 35963-35964, inside the kernel's
# range of ephemeral ports: a connection given one of them keeps it until 60 s after it closes, and
# pcscd then starts without the reader. As root, keep the kernel from handing them out (added to
# what is reserved already; until the next boot); otherwise the tests wait such a connection out.
VPCD_PORTS := 35963-35964
RESERVED_PORTS := /proc/sys/net/ipv4/ip_local_reserved_ports
vpcd-ports:
	@if [ -w $(RESERVED_PORTS) ]; then \
	  now=$$(cat $(RESERVED_PORTS)); \
	  case ",$$now," in *,$(VPCD_PORTS),*) ;; *) echo "$${now:+$$now,}$(VPCD_PORTS)" > $(RESERVED_PORTS) ;; esac; \
	fi

$(STAMP): pyproject.toml
	$(PY) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "Python 3.11 or newer is needed" >&2; exit 1; }
	[ -x $(BIN)/python ] || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev,central]'
	rm -f $(VENV)/.installed-*
	touch $@

clean:
	rm -rf $(VENV) var build *.egg-info
	find $(LOCALE) -name '*.mo' -delete
