#!/usr/bin/env bash
# Installs the kiosk on a terminal (Debian/Ubuntu with cage): the user kiosk, the program in a venv
# under /opt/kiosk, the systemd units, the udev rules and a config skeleton; then enables the kiosk
# on tty1 and the nightly catalogue sync. Run it again to upgrade: it changes only what differs and
# never overwrites /etc/kiosk/kiosk.toml. docs/deploy.md has the whole procedure.
#
#   sudo systemd/install.sh [--dry-run] [--root DIR] [--no-venv] [--source PKG]
#
#   --dry-run   print what would be done, change nothing
#   --root DIR  install the files under DIR instead of / (an image being built, a test): no user is
#               created, nothing is chowned, no service is reloaded; units are enabled offline
#   --no-venv   leave /opt/kiosk/.venv alone (files only)
#   --source P  what pip installs (default: this checkout); e.g. a wheel file, or
#               'hall-kiosk==0.1.0' from the package index
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SOURCE=$(dirname "$HERE")
ROOT=""
DRY=0
VENV=1

usage() { sed -n '2,17s/^# \{0,1\}//p' "$0"; }

while [ $# -gt 0 ]; do
  case "$1" in
    --dry-run) DRY=1 ;;
    --root) ROOT=${2:?--root needs a directory}; shift ;;
    --no-venv) VENV=0 ;;
    --source) SOURCE=${2:?--source needs a package}; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "install.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
if [ -n "$ROOT" ]; then
  ROOT=$(cd "$ROOT" && pwd)  # absolute: systemctl --root needs it
fi

run() {
  if [ "$DRY" = 1 ]; then
    printf '+'; printf ' %q' "$@"; printf '\n'
  else
    "$@"
  fi
}

if [ -z "$ROOT" ] && [ "$DRY" = 0 ] && [ "$(id -u)" != 0 ]; then
  echo "install.sh: run as root (sudo), or with --dry-run or --root DIR" >&2
  exit 1
fi

echo "== user and groups"
# Users, owners and running services are this machine's: not touched under --root.
if [ -z "$ROOT" ]; then
  getent group kiosk >/dev/null || run groupadd --system kiosk
  if ! id kiosk >/dev/null 2>&1; then
    run useradd --system --gid kiosk --home-dir /var/lib/kiosk --no-create-home --shell /usr/sbin/nologin \
      --comment "hall kiosk" kiosk
  fi
  # Serial devices, touch and HID input, the GPU for cage (groups missing on this system are skipped).
  for group in dialout input video render; do
    if getent group "$group" >/dev/null; then run usermod --append --groups "$group" kiosk; fi
  done
else
  echo "(skipped under --root: user kiosk in groups kiosk, dialout, input, video, render)"
fi

echo "== program: $ROOT/opt/kiosk/.venv"
if [ "$VENV" = 1 ]; then
  run install -d -m 0755 "$ROOT/opt/kiosk"
  if [ ! -x "$ROOT/opt/kiosk/.venv/bin/python" ]; then
    run python3 -m venv "$ROOT/opt/kiosk/.venv"
  fi
  run "$ROOT/opt/kiosk/.venv/bin/python" -m pip install --quiet --upgrade "$SOURCE"
else
  echo "(skipped: --no-venv)"
fi

echo "== systemd units and udev rules"
run install -d -m 0755 "$ROOT/etc/systemd/system" "$ROOT/etc/udev/rules.d"
for unit in kiosk@.service kiosk-guides-sync.service kiosk-guides-sync.timer; do
  run install -m 0644 "$HERE/$unit" "$ROOT/etc/systemd/system/$unit"
done
run install -m 0644 "$HERE/99-kiosk.rules" "$ROOT/etc/udev/rules.d/99-kiosk.rules"

echo "== configuration: $ROOT/etc/kiosk"
# The kiosk reads it (group kiosk); only root changes it. It names the central secret's file.
run install -d -m 0750 "$ROOT/etc/kiosk"
if [ -e "$ROOT/etc/kiosk/kiosk.toml" ]; then
  echo "kept the existing $ROOT/etc/kiosk/kiosk.toml"
else
  run install -m 0640 "$(dirname "$HERE")/config/kiosk.toml" "$ROOT/etc/kiosk/kiosk.toml"
  echo "edit $ROOT/etc/kiosk/kiosk.toml: [terminal] id, [central] url and secret_file, [devices.*]"
fi
if [ -z "$ROOT" ]; then
  run chown root:kiosk /etc/kiosk /etc/kiosk/kiosk.toml
fi

echo "== enable"
UNITS=(kiosk@tty1.service kiosk-guides-sync.timer)
if [ -n "$ROOT" ]; then
  run systemctl --root="$ROOT" enable "${UNITS[@]}"
else
  run systemctl daemon-reload
  run udevadm control --reload
  run udevadm trigger --action=add --subsystem-match=tty --subsystem-match=usbmisc \
    --subsystem-match=input --subsystem-match=hidraw
  run systemctl enable "${UNITS[@]}"
  echo "the kiosk starts on tty1 at the next boot, or now: systemctl start kiosk@tty1"
fi
