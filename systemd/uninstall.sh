#!/usr/bin/env bash
# Removes what systemd/install.sh installed: stops and disables the units, removes them, the udev
# rules and /opt/kiosk. Keeps the kiosk's data (/var/lib/kiosk: outbox, receipts, audit log,
# catalogue), its configuration (/etc/kiosk) and the user kiosk unless --purge. Safe to run again.
#
#   sudo systemd/uninstall.sh [--dry-run] [--root DIR] [--purge]
#
#   --dry-run   print what would be done, change nothing
#   --root DIR  remove the files under DIR instead of / (no user, no running service touched)
#   --purge     also remove /var/lib/kiosk, /etc/kiosk and the user and group kiosk
set -euo pipefail

ROOT=""
DRY=0
PURGE=0

usage() { sed -n '2,11s/^# \{0,1\}//p' "$0"; }

while [ $# -gt 0 ]; do
  case "$1" in
    --dry-run) DRY=1 ;;
    --root) ROOT=${2:?--root needs a directory}; shift ;;
    --purge) PURGE=1 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "uninstall.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
if [ -n "$ROOT" ]; then
  ROOT=$(cd "$ROOT" && pwd)
fi

run() {
  if [ "$DRY" = 1 ]; then
    printf '+'; printf ' %q' "$@"; printf '\n'
  else
    "$@"
  fi
}

if [ -z "$ROOT" ] && [ "$DRY" = 0 ] && [ "$(id -u)" != 0 ]; then
  echo "uninstall.sh: run as root (sudo), or with --dry-run or --root DIR" >&2
  exit 1
fi

UNITS=(kiosk@tty1.service kiosk-guides-sync.timer)
FILES=("$ROOT/etc/systemd/system/kiosk@.service" "$ROOT/etc/systemd/system/kiosk-guides-sync.service"
       "$ROOT/etc/systemd/system/kiosk-guides-sync.timer" "$ROOT/etc/udev/rules.d/99-kiosk.rules")

echo "== stop and disable"
if [ -e "$ROOT/etc/systemd/system/kiosk@.service" ]; then
  if [ -n "$ROOT" ]; then
    run systemctl --root="$ROOT" disable "${UNITS[@]}"
  else
    run systemctl disable --now "${UNITS[@]}" kiosk-guides-sync.service
  fi
else
  echo "(not installed)"
fi

echo "== units, rules, program"
run rm -f "${FILES[@]}"
run rm -rf "$ROOT/opt/kiosk"
if [ -z "$ROOT" ]; then
  run systemctl daemon-reload
  run udevadm control --reload
fi

if [ "$PURGE" = 1 ]; then
  echo "== purge: data, configuration, user"
  run rm -rf "$ROOT/var/lib/kiosk" "$ROOT/etc/kiosk"
  if [ -z "$ROOT" ]; then
    if id kiosk >/dev/null 2>&1; then run userdel kiosk; fi
    if getent group kiosk >/dev/null; then run groupdel kiosk; fi
  fi
else
  echo "kept $ROOT/var/lib/kiosk (the kiosk's data) and $ROOT/etc/kiosk; --purge removes them"
fi
