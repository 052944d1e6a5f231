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

.PHONY: run test lint setup system-deps tour soak clean i18n i18n-extract i18n-update i18n-compile

run: setup
	$(BIN)/kiosk demo

test: setup
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q -n 4 --dist loadfile -m "not pcscd"
	$(BIN)/python -m pytest -q -m pcscd

lint: setup
	$(BIN)/ruff check .

tour: setup
	$(BIN)/kiosk demo --headless --out var/tour

# N citizens in a row through the real app with faulty devices and network, then the comparison
# with the platform and the privacy audit (bench/soak.py); the summary goes to bench/SOAK.md.
N ?= 500
SEED ?= 17
soak: setup
	$(BIN)/python bench/soak.py --sessions $(N) --seed $(SEED) --out var/soak --report bench/SOAK.md

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
