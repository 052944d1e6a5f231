"""`kiosk doctor`: is this terminal fit to serve? Each check is data (``Result``), for the CLI and
for anything else that shows them (the staff pages).

A check passes only on evidence: a device that did not answer, a platform that cannot be reached
or a clock that cannot be compared is a failure, never "ready". "skip" means the check does not
apply here (no systemd on this machine, the embedded platform the kiosk starts itself, no data
folder yet) and says why; it never hides a fault.
"""

from __future__ import annotations

import email.utils
import os
import shutil
import socket
import stat
import subprocess
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

PASS, FAIL, SKIP = "pass", "fail", "skip"
MAX_SKEW_S = 30.0  # a signature is refused past contract.auth.WINDOW_S; time stamps are wrong long before
MIN_FREE_MB = 200  # the outbox, print jobs and the catalogue copy must be able to grow
UNITS = ("kiosk@tty1.service", "kiosk-guides-sync.timer")  # what systemd/install.sh enables
# The same characters in Simplified and Traditional: their SC and TC glyphs differ (返's 辶, 育's
# top), so a face that draws both alike is not the regional face the kiosk asked for.
SC_TEXT, TC_TEXT, SHARED = "返连请育", "返連請育", "返育"


@dataclass(frozen=True)
class Result:
    check: str
    result: str  # pass, fail or skip
    detail: str


def run(config_path: str, *, wait: float = 3.0, max_skew_s: float = MAX_SKEW_S,
        min_free_mb: int = MIN_FREE_MB, units: tuple[str, ...] = UNITS) -> list[Result]:
    from kiosk import config as cfgmod

    out = [display(), *fonts()]
    try:
        cfg = cfgmod.load(config_path)
    except cfgmod.ConfigError as exc:
        out.append(Result("config", FAIL, str(exc)))
        return [*out, Result("devices", SKIP, "the configuration does not load"), *systemd_units(units)]
    out.append(Result("config", PASS, f"{config_path}: {len(cfg.devices)} devices"))
    out += devices(cfg.devices, wait)
    out += central(cfg, max_skew_s)
    out += [disk(cfg.var_dir, min_free_mb), permissions(cfg.var_dir), *systemd_units(units)]
    return out


def failed(results: list[Result]) -> bool:
    return any(r.result == FAIL for r in results)


# -- display -------------------------------------------------------------------------------------

def display() -> Result:
    """A display the kiosk can open: $WAYLAND_DISPLAY or $DISPLAY, or cage's Wayland socket in
    this user's runtime folder (the unit starts the kiosk inside cage)."""
    runtime = os.environ.get("XDG_RUNTIME_DIR") or f"/run/user/{os.getuid()}"
    tried = []
    if wl := os.environ.get("WAYLAND_DISPLAY"):
        path = wl if wl.startswith("/") else os.path.join(runtime, wl)
        if _connects(socket.AF_UNIX, path):
            return Result("display", PASS, f"Wayland {path}")
        tried.append(f"WAYLAND_DISPLAY={wl}")
    if x := os.environ.get("DISPLAY"):
        host, _, rest = x.rpartition(":")
        number = rest.split(".")[0]
        ok = (_connects(socket.AF_UNIX, f"/tmp/.X11-unix/X{number}") if host in ("", "unix")
              else number.isdigit() and _connects(socket.AF_INET, (host, 6000 + int(number))))
        if ok:
            return Result("display", PASS, f"X display {x}")
        tried.append(f"DISPLAY={x}")
    for sock in sorted(Path(runtime).glob("wayland-[0-9]")):
        if _connects(socket.AF_UNIX, str(sock)):
            return Result("display", PASS, f"Wayland {sock} (cage)")
    return Result("display", FAIL, "no display reachable" + (f" ({', '.join(tried)} does not answer)" if tried
                                                            else " (DISPLAY and WAYLAND_DISPLAY unset, no "
                                                                 f"wayland socket in {runtime})"))


def _connects(family: int, address) -> bool:
    try:
        with socket.socket(family, socket.SOCK_STREAM) as s:
            s.settimeout(1.0)
            s.connect(address)
        return True
    except (OSError, ValueError):
        return False


# -- fonts ---------------------------------------------------------------------------------------

def fonts() -> list[Result]:
    """The faces the screens and slips use (devices.fonts) really draw the characters: each one is
    in the font's cmap (not .notdef, not tofu) and leaves ink, and SC and TC draw the shared ones
    differently."""
    from fontTools.ttLib import TTFont
    from PIL import Image, ImageChops, ImageDraw, ImageFont

    from devices.fonts import FontMissing, cjk_font

    inks, out = {}, []
    for variant, text in (("SC", SC_TEXT), ("TC", TC_TEXT)):
        try:
            path = cjk_font("regular", variant)
            cmap = TTFont(str(path), lazy=True).getBestCmap()
            face = ImageFont.truetype(str(path), 48)
        except (FontMissing, OSError) as exc:
            out.append(Result(f"font {variant}", FAIL, str(exc)))
            continue
        missing = [c for c in text if ord(c) not in cmap]
        blank = []
        for c in text:
            img = Image.new("L", (64, 64))
            ImageDraw.Draw(img).text((8, 0), c, font=face, fill=255)
            if img.getbbox() is None:
                blank.append(c)
        img = Image.new("L", (64 * len(SHARED), 64))
        ImageDraw.Draw(img).text((8, 0), SHARED, font=face, fill=255)
        inks[variant] = img
        if missing or blank:
            out.append(Result(f"font {variant}", FAIL, f"{path}: no glyph for {''.join(missing + blank)}"))
        else:
            out.append(Result(f"font {variant}", PASS, f"{path}: {text} drawn"))
    if len(inks) == 2 and ImageChops.difference(inks["SC"], inks["TC"]).getbbox() is None:
        out.append(Result("font SC/TC", FAIL, f"{SHARED} look the same in the SC and TC faces: one "
                          "of them is not the regional face (KIOSK_CJK_FONT set to one file?)"))
    elif len(inks) == 2:
        out.append(Result("font SC/TC", PASS, f"{SHARED} drawn in their Simplified and Traditional forms"))
    return out


# -- devices -------------------------------------------------------------------------------------

def devices(tables: dict[str, dict], wait: float) -> list[Result]:
    """Each configured device opened through the devices layer and asked its internal check."""
    from devices.events import StatusChanged
    from devices.manager import DeviceManager
    from devices.status import DeviceState

    if not tables:
        return [Result("devices", SKIP, "no device is configured")]
    manager = DeviceManager(tables)
    manager.start()
    out = []
    try:
        last: dict[str, DeviceState] = {}
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline and not (
                len(last) == len(tables) and DeviceState.UNKNOWN not in last.values()):
            for e in manager.drain():
                if isinstance(e, StatusChanged):
                    last[e.device] = e.state
            time.sleep(0.05)
        for name in tables:
            state = last.get(name, DeviceState.UNKNOWN)
            if state is not DeviceState.ONLINE:
                out.append(Result(f"device {name}", FAIL, f"{manager.drivers[name]}: {state.value}"))
                continue
            done = manager.call(name, "check", timeout=max(wait, 1.0), level="internal")
            ok = done.ok and done.result.ok
            out.append(Result(f"device {name}", PASS if ok else FAIL,
                              done.result.text if done.ok else f"{manager.drivers[name]}: {done.error}"))
    finally:
        manager.stop()
    return out


# -- central platform and clock ------------------------------------------------------------------

def central(cfg, max_skew_s: float, clock: Callable[[], float] = time.time) -> list[Result]:
    """The platform answers /health, a signed call is accepted, and its clock (the HTTP Date of
    its answer) is within ``max_skew_s`` of ours."""
    import requests

    from contract.models import API_PREFIX
    from kiosk.central_client import CentralClient

    url = cfg.central.url
    if url == "embedded":
        return [Result("central", SKIP, "url = \"embedded\": the kiosk starts the reference platform itself"),
                Result("clock", SKIP, "compared with the platform's, which is this machine's own here")]
    terminal_id, secret = cfg.central_credentials()
    client = CentralClient(url, timeout=(3.05, min(cfg.central.timeout_s, 5.0)), terminal_id=terminal_id,
                           secret=secret)
    try:
        sent = clock()
        try:
            resp = client.session.get(client.base_url + "/health", timeout=client.timeout)
        except requests.RequestException as exc:
            why = f"{url}: cannot be reached: {type(exc).__name__}: {exc}"
            return [Result("central", FAIL, why), Result("clock", FAIL, "not compared: the platform cannot be reached")]
        got = clock()
        out = [Result("central", PASS if resp.status_code == 200 else FAIL, f"{url}/health: HTTP {resp.status_code}")]
        if secret:
            try:
                signed = client.session.get(client.base_url + f"{API_PREFIX}/departments", timeout=client.timeout)
                out.append(Result("central signature", PASS if signed.status_code == 200 else FAIL,
                                  f"signed call as {terminal_id}: HTTP {signed.status_code}"))
            except requests.RequestException as exc:
                out.append(Result("central signature", FAIL, f"{type(exc).__name__}: {exc}"))
        else:
            out.append(Result("central signature", FAIL, "no terminal secret configured: the platform "
                              "refuses unsigned terminal calls"))
        out.append(skew(resp.headers.get("Date"), (sent + got) / 2, max_skew_s))
        return out
    finally:
        client.close()


def skew(date_header: str | None, ours: float, max_skew_s: float) -> Result:
    if not date_header:
        return Result("clock", FAIL, "the platform's answer has no Date header: cannot compare clocks")
    try:
        theirs = email.utils.parsedate_to_datetime(date_header).timestamp()
    except (TypeError, ValueError):
        return Result("clock", FAIL, f"the platform's Date header is not a date: {date_header[:60]!r}")
    off = ours - theirs  # Date has whole seconds: up to 1 s of this is rounding
    detail = f"this clock is {abs(off):.0f} s {'ahead of' if off > 0 else 'behind'} the platform's"
    return Result("clock", PASS if abs(off) <= max_skew_s + 1 else FAIL, f"{detail} (at most {max_skew_s:.0f} s)")


# -- the data folder ---------------------------------------------------------------------------

def disk(var: Path, min_free_mb: int) -> Result:
    where = var if var.exists() else var.resolve().parent
    try:
        free = shutil.disk_usage(where).free >> 20
    except OSError as exc:
        return Result("disk", FAIL, f"{where}: {exc.strerror or exc}")
    return Result("disk", PASS if free >= min_free_mb else FAIL, f"{where}: {free} MB free (at least {min_free_mb})")


def permissions(var: Path, limit: int = 5000) -> Result:
    """The data folder (outbox, print jobs, audit log, logs: personal data) is this user's alone:
    the folder 0700, every file in it without group or other access, all owned by this user."""
    if not var.exists():
        return Result("permissions", SKIP, f"{var} does not exist yet (made at the first start)")
    uid, bad = os.getuid(), []
    st = var.stat()
    if st.st_uid != uid or st.st_mode & 0o077:
        bad.append(f"{var} {stat.filemode(st.st_mode)} uid {st.st_uid}")
    for n, path in enumerate(var.rglob("*")):
        if n >= limit:
            break
        try:
            st = path.lstat()
        except OSError:
            continue  # gone since the listing
        if stat.S_ISLNK(st.st_mode):
            continue
        if st.st_uid != uid or st.st_mode & 0o077:
            bad.append(f"{path} {stat.filemode(st.st_mode)} uid {st.st_uid}")
    if bad:
        more = f" and {len(bad) - 3} more" if len(bad) > 3 else ""
        return Result("permissions", FAIL, f"readable by others or not owned by uid {uid}: "
                      f"{'; '.join(bad[:3])}{more} (chmod -R go-rwx)")
    return Result("permissions", PASS, f"{var}: this user's alone (uid {uid})")


# -- systemd -------------------------------------------------------------------------------------

def systemd_units(units: tuple[str, ...]) -> list[Result]:
    """Installed, enabled and active. Skipped where systemctl is missing or systemd is not running
    (a development machine, a container): not a fault of the terminal's installation."""
    systemctl = shutil.which("systemctl")
    if systemctl is None:
        return [Result("systemd", SKIP, "no systemctl on this machine")]
    if not os.path.isdir("/run/systemd/system"):
        return [Result("systemd", SKIP, "systemd is not running on this machine")]
    out = []
    for unit in units:
        def ask(verb: str, unit: str = unit) -> str:
            r = subprocess.run([systemctl, verb, unit], capture_output=True, text=True, timeout=10)
            return (r.stdout.strip() or r.stderr.strip()).splitlines()[0] if (r.stdout or r.stderr) else "?"

        enabled, active = ask("is-enabled"), ask("is-active")
        ok = enabled in ("enabled", "static", "indirect") and active == "active"
        out.append(Result(f"unit {unit}", PASS if ok else FAIL, f"{enabled}, {active}"))
    return out


def as_dicts(results: list[Result]) -> list[dict]:
    return [asdict(r) for r in results]
