"""Configuration: TOML files validated with pydantic.

A bad file never starts a half-configured kiosk: ``load()`` raises ConfigError whose message is
one line naming the file, the key and what is wrong (the CLI prints it and exits with 2).
Device tables are checked against their driver's own option schema too. Every value is bounded,
so a file that passes cannot fail later with an overflow, a NUL in a path or a newline in a header.
"""

from __future__ import annotations

import logging
import os
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from devices.contracts import NO_CONTROL, option_error
from devices.errors import DeviceError
from devices.manager import DeviceConfigError, build_driver
from kiosk.embedded import NOT_INSTALLED, missing_module
from kiosk.startup import DEFAULT_CONFIG, DEMO_CONFIG  # noqa: F401  (long known here)

log = logging.getLogger("kiosk.config")

MAX_BYTES = 1 << 20  # a configuration is a few kB; the cap keeps a wrong path (/dev/zero) harmless


class ConfigError(ValueError):
    """One line for staff. ``unexpected``: the check itself failed (a bug), named by its type."""

    def __init__(self, message: str, unexpected: bool = False):
        super().__init__(_one_line(message))
        self.unexpected = unexpected


def _one_line(text: str, limit: int = 500) -> str:
    # Keys and values come from the file: a quoted key may hold a newline or a terminal escape.
    text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _line(max_length: int, min_length: int = 0) -> Any:
    return StringConstraints(min_length=min_length, max_length=max_length, pattern=NO_CONTROL)


class _Section(BaseModel):
    # strict: TOML has its own types, so `true` or 1e23 where an int is meant is a mistake to report,
    # not a value to convert; NaN would pass every bound check.
    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)


class Terminal(_Section):
    id: Annotated[str, _line(64, min_length=1)] = "KIOSK-0001"
    hall: Annotated[str, _line(100)] = "政务服务中心"
    language: Literal["zh_CN", "zh_TW", "en"] = "zh_CN"


class Central(_Section):
    # "embedded" starts the reference central platform on 127.0.0.1 with data under paths.var.
    url: str = Field("embedded", max_length=2048, pattern=r"^(embedded|https?://[^\s\x00-\x1f\x7f]+)$")
    timeout_s: float = Field(10.0, gt=0, le=120)
    # Terminal credentials for signed requests. terminal_id defaults to [terminal] id; the secret
    # comes from $KIOSK_CENTRAL_SECRET, else ``secret``, else the first line of ``secret_file``.
    terminal_id: Annotated[str, _line(64)] = ""
    secret: Annotated[str, _line(1024)] = ""
    secret_file: Annotated[str, _line(4096)] = ""
    guides_sync_min: float = Field(15.0, ge=0, le=24 * 60)  # 0: only at start-up
    heartbeat_s: float = Field(30.0, ge=5, le=3600)
    # The page a citizen's phone opens from the QR on a receipt, "{number}" standing for the case
    # number or terminal reference; empty: the reference platform's own <url>/track/{number}.
    track_url: str = Field("", max_length=2048, pattern=r"^(|https?://\S*\{number\}\S*)$")


class Session(_Section):
    idle_timeout_s: int = Field(120, ge=30, le=3600)
    # The countdown a citizen sees before the wipe: at least 20 s to notice it and tap 继续办理.
    warning_s: int = Field(30, ge=20, le=300)
    # Taking the ID card away ends the identity after this many seconds; the same card put back
    # sooner goes on where it was. 0: at once.
    card_grace_s: int = Field(5, ge=0, le=30)


class Display(_Section):
    width: int = Field(1280, ge=320, le=7680)
    height: int = Field(800, ge=240, le=4320)
    fullscreen: bool = False
    font_scale: float = Field(1.0, ge=0.5, le=3.0)


class Outbox(_Section):
    # A failed submission keeps the person's data this long for staff to retry it, then drops it.
    failed_retention_days: float = Field(30.0, ge=1, le=3650)
    # A receipt not printed before a restart prints by itself if its case is at most this old (the
    # citizen may still be standing there); an older one waits for staff (`kiosk print pending`).
    receipt_resume_min: float = Field(5.0, ge=0, le=24 * 60)


class Search(_Section):
    # This hall's own everyday words, added to the platform's table: 狗证 = ["犬只", "养犬"]. Each
    # word is read as any of the catalogue words it lists.
    aliases: dict[Annotated[str, _line(20, min_length=1)],
                  Annotated[list[Annotated[str, _line(40, min_length=1)]], Field(min_length=1, max_length=20)]] = \
        Field(default_factory=dict, max_length=500)
    # Where to ask in this hall, shown when a search finds nothing (e.g. "一楼大厅导服台").
    help_desk: Annotated[str, _line(100)] = ""


class Codes(_Section):
    # How the province app's citizen code begins (the reference platform's: "GAC1."); such a code
    # is sent to the platform to verify. Empty: citizen codes are not taken at this kiosk.
    citizen_prefix: Annotated[str, _line(32)] = "GAC1."


class Paths(_Section):
    # State: catalogue copy, outbox, logs; relative to the working directory.
    var: Annotated[str, _line(4096)] = "var"


class Voice(_Section):
    # Voice guidance (espeak-ng): in elder mode every page speaks when it opens; otherwise after
    # the citizen taps 朗读. false: no voice at all, and no speak buttons.
    enabled: bool = True
    volume: int = Field(100, ge=0, le=200)  # espeak-ng -a: 100 is its normal loudness
    rate: int = Field(150, ge=80, le=450)  # espeak-ng -s: words per minute; slower is easier to follow
    zh_TW_voice: Literal["cmn", "yue"] = "cmn"  # 繁體 read in Mandarin, or in Cantonese
    # device: the default audio device; wav: <var>/voice/last.wav (no sound hardware); auto: the
    # device when the machine has one, else the file.
    output: Literal["device", "wav", "auto"] = "device"


class Staff(_Section):
    """Maintenance mode (kiosk/staff_access.py): entered with a staff card or 5 taps on the terminal
    id in the status bar, then the PIN."""

    # Card numbers that open maintenance mode when read: the social security card number on the
    # PC/SC reader, the ID number on the ID card reader. Never logged in full.
    cards: list[Annotated[str, _line(32, min_length=4)]] = Field(default_factory=list, max_length=200)
    # The PIN as an Argon2 hash (`kiosk staff hash-pin` prints one); empty: no PIN entry.
    pin_hash: str = Field("", max_length=512, pattern=r"^(|\$argon2(id|i|d)\$[!-~]+)$")
    lock_after: int = Field(5, ge=1, le=20)  # wrong PINs in a row before the lock
    lock_min: float = Field(15.0, ge=1, le=24 * 60)  # how long the PIN is locked after that
    idle_s: int = Field(90, ge=15, le=1800)  # maintenance mode leaves by itself after this


class Demo(_Section):
    enabled: bool = False
    # Devices whose port is replaced by an emulator started by the demo harness.
    emulate: list[Annotated[str, _line(64)]] = Field(default_factory=list, max_length=32)
    panel: bool = True


class KioskConfig(_Section):
    terminal: Terminal = Terminal()
    central: Central = Central()
    session: Session = Session()
    display: Display = Display()
    outbox: Outbox = Outbox()
    search: Search = Search()
    codes: Codes = Codes()
    paths: Paths = Paths()
    voice: Voice = Voice()
    staff: Staff = Staff()
    demo: Demo = Demo()
    # Device names end up in thread names, events and CLI columns.
    devices: dict[Annotated[str, _line(64, min_length=1)], dict[str, Any]] = Field(default_factory=dict)

    @property
    def var_dir(self) -> Path:
        return Path(self.paths.var)

    def central_credentials(self) -> tuple[str | None, str | None]:
        """(terminal id, secret) for signing, or (None, None) when no secret is configured."""
        secret = os.environ.get("KIOSK_CENTRAL_SECRET") or self.central.secret
        if not secret and self.central.secret_file:
            try:
                with open(self.central.secret_file, "rb") as f:  # bounded: a wrong path may be /dev/zero
                    lines = f.read(65536).decode("utf-8").strip().splitlines()
                reason = "" if lines else "the file is empty"
            except OSError as exc:
                reason = exc.strerror or str(exc)
            except ValueError:
                reason = "not UTF-8 text"
            if reason:
                raise ConfigError(f"central.secret_file: cannot read a secret from "
                                  f"{self.central.secret_file}: {reason}")
            secret = lines[0]
        if not secret:
            return None, None
        return self.central.terminal_id or self.terminal.id, secret


def load(path: str | Path) -> KioskConfig:
    """The validated configuration, or ConfigError: every command that takes --config uses this."""
    path = Path(path)
    try:
        return validate(_read(path), str(path))
    except ConfigError:
        raise
    except Exception as exc:  # a bug in the check must not reach staff as a traceback, nor pass silently
        log.debug("checking %s failed", path, exc_info=True)
        raise ConfigError(f"{path}: cannot be checked: {type(exc).__name__}: {exc} "
                          f"(a bug in the check; kiosk -v shows where)", unexpected=True) from exc


def _read(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as f:
            data = f.read(MAX_BYTES + 1)
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a directory, not a configuration file") from None
    except PermissionError:
        raise ConfigError(f"{path}: permission denied") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read: {exc.strerror or exc}") from None
    if len(data) > MAX_BYTES:
        raise ConfigError(f"{path}: larger than {MAX_BYTES >> 20} MiB: not a configuration file")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1  # a file saved as GBK: staff need the line
        raise ConfigError(f"{path}: not UTF-8 text (line {line}, byte {exc.start}: {exc.reason})") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: TOML syntax error: {exc}") from None
    except RecursionError:
        raise ConfigError(f"{path}: TOML nested too deeply (arrays or inline tables)") from None
    except ValueError as exc:  # int() past sys.get_int_max_str_digits(); tomllib lets it through
        reason = "a number has too many digits" if "digits" in str(exc) else str(exc)
        raise ConfigError(f"{path}: TOML value out of range: {reason}") from None


def validate(raw: dict[str, Any], source: str = "<config>") -> KioskConfig:
    try:
        cfg = KioskConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(f"{source}: {option_error(exc)}") from None
    if cfg.session.warning_s >= cfg.session.idle_timeout_s:
        raise ConfigError(f"{source}: session.warning_s: must be shorter than session.idle_timeout_s")
    if cfg.central.url == "embedded" and (module := missing_module()):
        raise ConfigError(f"{source}: central.url: \"embedded\" needs {NOT_INSTALLED.format(module=module)}, "
                          f"or set central.url to the platform's https:// address")
    for name in cfg.demo.emulate:
        if name not in cfg.devices:
            raise ConfigError(f"{source}: demo.emulate: no device named {name!r} under [devices]")
    for name, table in cfg.devices.items():
        if not isinstance(table, dict):
            raise ConfigError(f"{source}: devices.{name}: must be a table")
        try:
            # Building validates the driver's own options without opening anything.
            build_driver(name, table, lambda _e: None)
        except DeviceConfigError as exc:
            raise ConfigError(f"{source}: {exc}") from None
        except DeviceError as exc:  # the driver refused its options, e.g. a decoder that is not installed
            raise ConfigError(f"{source}: devices.{name}: {exc}") from None
        except Exception as exc:  # a driver bug: name the device and the driver, keep the type
            log.debug("devices.%s: driver failed on its options", name, exc_info=True)
            raise ConfigError(f"{source}: devices.{name}: driver {table.get('driver')!r} failed on these "
                              f"options: {type(exc).__name__}: {exc}", unexpected=True) from exc
    return cfg
