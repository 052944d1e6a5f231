"""Configuration: TOML files validated with pydantic.

A bad file never starts a half-configured kiosk: ``load()`` raises ConfigError whose message is
one line naming the file, the key and what is wrong (the CLI prints it and exits with 2).
Device tables are checked against their driver's own option schema too.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from devices.manager import DeviceConfigError, build_driver

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG = REPO_ROOT / "config" / "kiosk.toml"
DEMO_CONFIG = REPO_ROOT / "config" / "demo.toml"


class ConfigError(ValueError):
    pass


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Terminal(_Section):
    id: str = Field("KIOSK-0001", min_length=1, max_length=64)
    hall: str = "政务服务中心"
    language: Literal["zh_CN", "zh_TW", "en"] = "zh_CN"


class Central(_Section):
    # "embedded" starts the reference central platform on 127.0.0.1 with data under paths.var.
    url: str = "embedded"
    timeout_s: float = Field(10.0, gt=0, le=120)
    # Terminal credentials for signed requests. terminal_id defaults to [terminal] id; the secret
    # comes from $KIOSK_CENTRAL_SECRET, else ``secret``, else the first line of ``secret_file``.
    terminal_id: str = Field("", max_length=64)
    secret: str = ""
    secret_file: str = ""
    guides_sync_min: float = Field(15.0, ge=0, le=24 * 60)  # 0: only at start-up
    heartbeat_s: float = Field(30.0, ge=5, le=3600)
    # The page a citizen's phone opens from the QR on a receipt, "{number}" standing for the case
    # number or terminal reference; empty: the reference platform's own <url>/track/{number}.
    track_url: str = Field("", pattern=r"^(|https?://\S*\{number\}\S*)$")


class Session(_Section):
    idle_timeout_s: int = Field(120, ge=15, le=3600)
    warning_s: int = Field(30, ge=5, le=300)


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


class Paths(_Section):
    var: str = "var"  # state: catalogue copy, outbox, logs; relative to the working directory


class Demo(_Section):
    enabled: bool = False
    # Devices whose port is replaced by an emulator started by the demo harness.
    emulate: list[str] = Field(default_factory=list)
    panel: bool = True


class KioskConfig(_Section):
    terminal: Terminal = Terminal()
    central: Central = Central()
    session: Session = Session()
    display: Display = Display()
    outbox: Outbox = Outbox()
    paths: Paths = Paths()
    demo: Demo = Demo()
    devices: dict[str, dict[str, Any]] = Field(default_factory=dict)

    @property
    def var_dir(self) -> Path:
        return Path(self.paths.var)

    def central_credentials(self) -> tuple[str | None, str | None]:
        """(terminal id, secret) for signing, or (None, None) when no secret is configured."""
        secret = os.environ.get("KIOSK_CENTRAL_SECRET") or self.central.secret
        if not secret and self.central.secret_file:
            try:
                secret = Path(self.central.secret_file).read_text(encoding="utf-8").strip().splitlines()[0]
            except (OSError, IndexError) as exc:
                raise ConfigError(f"central.secret_file: cannot read a secret from "
                                  f"{self.central.secret_file}: {exc}") from None
        if not secret:
            return None, None
        return self.central.terminal_id or self.terminal.id, secret


def load(path: str | Path) -> KioskConfig:
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: TOML syntax error: {exc}") from None
    return validate(raw, str(path))


def validate(raw: dict[str, Any], source: str = "<config>") -> KioskConfig:
    try:
        cfg = KioskConfig.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        key = ".".join(str(p) for p in err["loc"])
        got = f" (got {err['input']!r})" if err["type"] != "missing" and not isinstance(err["input"], dict) else ""
        raise ConfigError(f"{source}: {key}: {err['msg']}{got}") from None
    if cfg.session.warning_s >= cfg.session.idle_timeout_s:
        raise ConfigError(f"{source}: session.warning_s: must be shorter than session.idle_timeout_s")
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
    return cfg
