"""VirtualPrinter: an ESC/POS Chinese-mode receipt printer behind a real pty (and optionally TCP).

It is the far end of the wire for tests and the demo: the driver opens ``.port`` exactly as it
would open ``/dev/ttyUSB0``. Like a real printer it has two stages:

* **receive** (real time): every byte is scanned for ``DLE EOT n`` as it arrives, even inside
  other commands' data, and answered at once from the printer's state (spec section B);
* **print**: commands are executed in order into the current slip. While the paper is out, the
  cover open or the printer offline, printing stops and the received data is **held** in the
  buffer, as a printer with a receive buffer holds a job; it is printed once the fault is cleared.
  ``GS r 1`` is executed by this stage, so it is answered only after the data before it has
  been printed, and not while the paper is out.

A slip ends at a cut. Each keeps its decoded text lines (exact Unicode), its rows (text, raster,
qr, feed), a rendered PNG image and the raw bytes. Chinese mode decodes double-byte GB18030 only,
like the printers the spec lists: a 4-byte sequence prints as two "?" cells, which the tests catch.
An image shows at most MAX_SLIP_DOTS of a slip, and a QR code too long for any symbol prints
nothing (the rest of the job prints): whatever bytes arrive, the emulator keeps going within bounds
(tests/test_fuzz_escpos.py).
"""

from __future__ import annotations

import contextlib
import errno
import os
import selectors
import socket
import threading
import tty
from dataclasses import dataclass, field
from pathlib import Path

import qrcode
from PIL import Image
from qrcode.exceptions import DataOverflowError

from drivers.escpos import render

PAPER_DOTS = {58: 384, 80: 576}
LINE_SPACING = 30
CUTTER_FEED = 40  # dots of blank paper between the last line and the cut
SLIP_MARGIN = 16  # dots of white above the first row of a slip's image
# A slip's image shows its first 2 m of paper; rows past it are still counted (text, rows, tops)
# but not drawn: a few bytes of ESC d 255 or a tall raster must not cost gigabytes of image.
MAX_SLIP_DOTS = 16_000


@dataclass
class SlipRow:
    """One printed band: ``text`` (with its decoded text), ``raster``, ``qr`` (text = payload) or
    ``feed``; ``top``/``height`` in dots on the slip image, ``width`` of raster/qr in dots."""

    kind: str
    top: int
    height: int
    text: str = ""
    width: int = 0


@dataclass
class Slip:
    text_lines: list[str]
    image: Image.Image
    raw: bytes
    rows: list[SlipRow] = field(default_factory=list)

    def row_kinds(self) -> list[str]:
        return [r.kind for r in self.rows if r.kind != "feed"]


@dataclass
class _Glyph:
    ch: str
    wide: bool
    sx: int
    sy: int
    bold: bool

    @property
    def width(self) -> int:
        return (render.WIDE_W if self.wide else render.NARROW_W) * self.sx

    @property
    def height(self) -> int:
        return render.CELL_H * self.sy


class _Incomplete(Exception):
    """The command at the parse position is not complete yet: wait for more bytes."""


class VirtualPrinter:
    """Emulated printer. ``width`` is the paper in mm (80 → 576 dots, 58 → 384).

    ``chinese_default``: whether Chinese mode is on at power-on / after ``ESC @``. Real Chinese
    models start in it; the default here is off so a driver that forgets ``FS &`` is caught.
    """

    def __init__(self, width: int = 80, *, tcp: bool = False, chinese_default: bool = False):
        self.width_dots = PAPER_DOTS[width]
        self.chinese_default = chinese_default
        self.paper = "full"
        self.cover_open = False
        self.online = True
        self.silent = False
        self.gs_r_supported = True  # False: like models without GS r, it never answers one
        self.slips: list[Slip] = []
        self._taken = 0  # of self.slips: those take_slips has handed out
        self.unknown_commands: list[bytes] = []
        self.received = 0  # bytes received in total
        self.error: Exception | None = None  # set if parsing ever failed (an emulator bug)
        self._paper_rows_left: int | None = None
        self._cond = threading.Condition(threading.RLock())
        self._buf = bytearray()
        self._reply_to = None  # source of the most recent data: where GS r replies go
        self._carry: dict[object, bytes] = {}
        self._reset_modes()
        self._new_slip()
        self._raw = bytearray()
        self._just_cut: Slip | None = None

        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)
        os.set_blocking(self._master, False)
        self.port = os.ttyname(self._slave)
        self._wake_r, self._wake_w = os.pipe()
        self._sel = selectors.DefaultSelector()
        self._sel.register(self._master, selectors.EVENT_READ, "pty")
        self._sel.register(self._wake_r, selectors.EVENT_READ, "wake")
        self._listener: socket.socket | None = None
        self.tcp_port = 0
        if tcp:
            self._listener = socket.create_server(("127.0.0.1", 0))
            self._listener.setblocking(False)
            self.tcp_port = self._listener.getsockname()[1]
            self._sel.register(self._listener, selectors.EVENT_READ, "listen")
        self._closed = False
        self._thread = threading.Thread(target=self._io_loop, name="virtual-printer", daemon=True)
        self._thread.start()

    # --- public API ----------------------------------------------------------------------------

    def __enter__(self) -> VirtualPrinter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def set_paper(self, state: str) -> None:
        """full / low / out. Back from out, held data is printed."""
        if state not in ("full", "low", "out"):
            raise ValueError(state)
        with self._cond:
            self.paper = state
            if state != "out":
                self._paper_rows_left = None
        self._wake()

    def set_cover(self, open: bool) -> None:
        with self._cond:
            self.cover_open = open
        self._wake()

    def set_online(self, online: bool) -> None:
        with self._cond:
            self.online = online
        self._wake()

    def send_garbage(self, data: bytes) -> None:
        """Unsolicited bytes to the host (the connection that spoke last, else the pty), as line
        noise or a confused printer would send."""
        with self._cond:
            self._send(self._reply_to or "pty", data)

    def paper_runs_out_after(self, rows: int) -> None:
        """The roll ends after ``rows`` more dot rows: the job stops there, the rest is held."""
        with self._cond:
            self._paper_rows_left = rows

    @property
    def pending(self) -> int:
        """Bytes received but not printed yet (held while paper is out, or incomplete)."""
        with self._cond:
            return len(self._buf)

    @property
    def held(self) -> bytes:
        with self._cond:
            return bytes(self._buf)

    def wait_for_slips(self, n: int, timeout: float = 2.0) -> list[Slip]:
        with self._cond:
            if not self._cond.wait_for(lambda: len(self.slips) >= n or self.error, timeout):
                raise TimeoutError(f"{len(self.slips)} slips after {timeout}s, wanted {n} "
                                   f"({len(self._buf)} bytes held, paper {self.paper})")
            if self.error is not None:
                raise RuntimeError(f"virtual printer failed: {self.error!r}") from self.error
            return list(self.slips[:n])

    def take_slips(self, keep: int = 0) -> list[Slip]:
        """The slips cut since the last take, oldest first; of all it holds the printer then
        keeps only the last ``keep`` (a long run would otherwise hold every picture it printed)."""
        with self._cond:
            new = self.slips[self._taken:]
            del self.slips[:max(0, len(self.slips) - keep)]
            self._taken = len(self.slips)
            return new

    def save_pngs(self, directory: str | os.PathLike) -> list[Path]:
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        paths = []
        with self._cond:
            slips = list(self.slips)
        for i, slip in enumerate(slips, 1):
            p = d / f"slip-{i:03d}.png"
            slip.image.save(p)
            paths.append(p)
        return paths

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._wake()
        self._thread.join(2.0)
        for key in list(self._sel.get_map().values()):
            if key.data not in ("pty", "wake", "listen"):
                with contextlib.suppress(OSError):
                    key.fileobj.close()
        self._sel.close()
        if self._listener:
            self._listener.close()
        for fd in (self._master, self._slave, self._wake_r, self._wake_w):
            with contextlib.suppress(OSError):
                os.close(fd)

    # --- receive stage -------------------------------------------------------------------------

    def _wake(self) -> None:
        with contextlib.suppress(OSError):
            os.write(self._wake_w, b"x")

    def _io_loop(self) -> None:
        while not self._closed:
            for key, _ in self._sel.select(0.5):
                if key.data == "wake":
                    with contextlib.suppress(OSError):
                        os.read(self._wake_r, 4096)
                elif key.data == "pty":
                    try:
                        data = os.read(self._master, 65536)
                    except BlockingIOError:
                        continue
                    except OSError as exc:
                        if exc.errno == errno.EIO:  # no slave open: cannot happen, we hold one
                            continue
                        raise
                    self._receive("pty", data)
                elif key.data == "listen":
                    with contextlib.suppress(BlockingIOError):
                        conn, _ = self._listener.accept()
                        conn.setblocking(False)
                        self._sel.register(conn, selectors.EVENT_READ, "tcp")
                else:
                    try:
                        data = key.fileobj.recv(65536)
                    except BlockingIOError:
                        continue
                    except OSError:
                        data = b""
                    if not data:
                        self._sel.unregister(key.fileobj)
                        key.fileobj.close()
                        continue
                    self._receive(key.fileobj, data)
            with self._cond:
                try:
                    self._process()
                except Exception as exc:  # an emulator bug: keep serving, report it to the test
                    self.error = exc
                    self._buf.clear()
                    self._cond.notify_all()

    def _send(self, source, data: bytes) -> None:
        try:
            if source == "pty":
                os.write(self._master, data)
            elif source is not None:
                source.send(data)
        except OSError:  # a reply nobody can take is lost, as on the wire
            pass

    def _receive(self, source, data: bytes) -> None:
        with self._cond:
            self.received += len(data)
            # Real-time stage: DLE EOT n is acted on wherever it appears, even inside data.
            scan = self._carry.get(source, b"") + data
            for i in range(len(scan) - 2):
                if scan[i] == 0x10 and scan[i + 1] == 0x04 and 1 <= scan[i + 2] <= 4 and not self.silent:
                    self._send(source, bytes([self._status_byte(scan[i + 2])]))
            self._carry[source] = scan[-2:]
            self._buf += data
            self._reply_to = source

    def _status_byte(self, n: int) -> int:
        b = 0x12
        offline = self.cover_open or self.paper == "out" or not self.online
        if n == 1 and offline:
            b |= 0x08
        elif n == 2:
            if self.cover_open:
                b |= 0x04
            if self.paper == "out":
                b |= 0x20
        elif n == 4:
            if self.paper == "out":
                b |= 0x60
            elif self.paper == "low":
                b |= 0x0C
        return b

    # --- print stage ---------------------------------------------------------------------------

    def _halted(self) -> bool:
        return self.paper == "out" or self.cover_open or not self.online

    def _process(self) -> None:
        pos = 0
        try:
            while pos < len(self._buf) and not self._halted():
                try:
                    used = self._step(pos)
                except _Incomplete:
                    break
                self._raw += self._buf[pos:pos + used]
                pos += used
                if self._just_cut is not None:
                    self._just_cut.raw = bytes(self._raw)
                    self._raw = bytearray()
                    self.slips.append(self._just_cut)
                    self._just_cut = None
                    self._cond.notify_all()
        finally:
            del self._buf[:pos]

    def _need(self, pos: int, k: int) -> bytes:
        if pos + k > len(self._buf):
            raise _Incomplete
        return bytes(self._buf[pos:pos + k])

    def _step(self, pos: int) -> int:
        b = self._buf[pos]
        if b == 0x0A:
            self._print_line()
            return 1
        if b == 0x1B:
            return self._esc(pos)
        if b == 0x1D:
            return self._gs(pos)
        if b == 0x1C:
            return self._fs(pos)
        if b == 0x10:
            return self._dle(pos)
        if b == 0x09:
            self._add_char(" ")
            return 1
        if b < 0x20:
            return 1  # CR and other controls: ignored
        return self._text(pos)

    def _text(self, pos: int) -> int:
        b = self._buf[pos]
        if b < 0x80:
            self._add_char(chr(b))
            return 1
        if not self.chinese:
            self._add_char(bytes([b]).decode("cp437"))
            return 1
        if b in (0x80, 0xFF):
            self._add_char("?")
            return 1
        t = self._need(pos, 2)[1]
        if t < 0x20:
            self._add_char("?", wide=True)
            return 1
        try:
            ch = bytes([b, t]).decode("gb18030") if (0x40 <= t <= 0xFE and t != 0x7F) else "?"
        except UnicodeDecodeError:
            ch = "?"
        self._add_char(ch, wide=True)
        return 2

    def _esc(self, pos: int) -> int:
        c = self._need(pos, 2)[1]
        one = {ord(x) for x in "aEG!dJ3-MtR{V =%rUeTc"}  # one parameter byte
        if c == ord("@"):
            self._print_pending()
            self._reset_modes()
            return 2
        if c in (ord("i"), ord("m")):  # the older one-byte cut commands
            self._cut(0)
            return 2
        if c in (ord("2"), ord("L"), ord("S"), ord("<")):
            if c == ord("2"):
                self.line_spacing = LINE_SPACING
            return 2
        if c in one:
            n = self._need(pos, 3)[2]
            if c == ord("a"):
                self.align = {0: 0, 1: 1, 2: 2, 48: 0, 49: 1, 50: 2}.get(n, 0)
            elif c in (ord("E"), ord("G")):
                self.bold = bool(n & 1)
            elif c == ord("!"):
                self.bold = bool(n & 0x08)
                self.ank = (2 if n & 0x20 else 1, 2 if n & 0x10 else 1)
            elif c == ord("d"):
                self._print_pending()
                self._feed(n * self.line_spacing)
            elif c == ord("J"):
                self._print_pending()
                self._feed(n)
            elif c == ord("3"):
                self.line_spacing = n
            elif c == ord("c"):
                self._need(pos, 4)
                return 4  # ESC c 3/4/5 n
            return 3
        if c in (ord("$"), ord("\\")):
            self._need(pos, 4)
            return 4
        if c == ord("p"):
            self._need(pos, 5)
            return 5
        if c == ord("*"):
            m, nl, nh = self._need(pos, 5)[2:5]
            k = (nl + nh * 256) * (1 if m in (0, 1) else 3)
            self._need(pos, 5 + k)
            self.unknown_commands.append(b"\x1b*")  # column images are not drawn
            return 5 + k
        if c == ord("D"):
            end = self._buf.find(b"\x00", pos + 2)
            if end < 0:
                raise _Incomplete
            return end - pos + 1
        self.unknown_commands.append(bytes([0x1B, c]))
        return 2

    def _gs(self, pos: int) -> int:
        c = self._need(pos, 2)[1]
        if c == ord("!"):
            n = self._need(pos, 3)[2]
            self.gs_scale = ((n >> 4 & 7) + 1, (n & 7) + 1)
            self.ank = self.gs_scale
            return 3
        if c == ord("V"):
            m = self._need(pos, 3)[2]
            size = 4 if m in (65, 66, 97, 98, 103, 104) else 3
            feed = self._need(pos, size)[3] if size == 4 else 0
            self._cut(feed)
            return size
        if c == ord("v"):
            hdr = self._need(pos, 8)
            if hdr[2] != ord("0"):
                self.unknown_commands.append(hdr[:3])
                return 3
            m, xb, yb = hdr[3], hdr[4] + hdr[5] * 256, hdr[6] + hdr[7] * 256
            data = self._need(pos, 8 + xb * yb)[8:]
            self._raster(m, xb, yb, data)
            return 8 + xb * yb
        if c == ord("("):
            hdr = self._need(pos, 5)
            p = hdr[3] + hdr[4] * 256
            body = self._need(pos, 5 + p)[5:]
            if hdr[2] == ord("k"):
                self._qr_command(body)
            else:
                self.unknown_commands.append(hdr[:3])
            return 5 + p
        if c == ord("r"):
            n = self._need(pos, 3)[2]
            if not self.silent and self.gs_r_supported:
                if n in (1, 49):
                    reply = (0x03 if self.paper == "low" else 0) | (0x0C if self.paper == "out" else 0)
                else:
                    reply = 0
                self._send(self._reply_to, bytes([reply]))
            return 3
        if c in (ord("B"), ord("H"), ord("h"), ord("w"), ord("f"), ord("a"), ord("I"), ord("/"), ord("b")):
            self._need(pos, 3)
            return 3
        if c in (ord("L"), ord("W"), ord("P")):
            self._need(pos, 4)
            return 4
        if c == ord("k"):
            m = self._need(pos, 3)[2]
            if m <= 6:
                end = self._buf.find(b"\x00", pos + 3)
                if end < 0:
                    raise _Incomplete
                used = end - pos + 1
            else:
                n = self._need(pos, 4)[3]
                self._need(pos, 4 + n)
                used = 4 + n
            self.unknown_commands.append(b"\x1dk")  # barcodes are not drawn
            return used
        self.unknown_commands.append(bytes([0x1D, c]))
        return 2

    def _fs(self, pos: int) -> int:
        c = self._need(pos, 2)[1]
        if c == ord("&"):
            self.chinese = True
            return 2
        if c == ord("."):
            self.chinese = False
            return 2
        if c == ord("!"):
            n = self._need(pos, 3)[2]
            self.fs_scale = (2 if n & 0x04 else 1, 2 if n & 0x08 else 1)
            return 3
        if c in (ord("-"), ord("W"), ord("C")):
            self._need(pos, 3)
            return 3
        if c in (ord("S"), ord("p")):
            self._need(pos, 4)
            return 4
        if c == ord("2"):
            self._need(pos, 4 + 72)
            return 4 + 72
        self.unknown_commands.append(bytes([0x1C, c]))
        return 2

    def _dle(self, pos: int) -> int:
        c = self._need(pos, 2)[1]
        if c in (0x04, 0x05):  # DLE EOT / DLE ENQ: answered by the receive stage
            self._need(pos, 3)
            return 3
        if c == 0x14:
            fn = self._need(pos, 3)[2]
            size = 10 if fn == 8 else 5
            self._need(pos, size)
            return size
        return 1  # a lone DLE is ignored

    # --- the slip ------------------------------------------------------------------------------

    def _reset_modes(self) -> None:
        self.chinese = self.chinese_default
        self.align = 0
        self.bold = False
        self.ank = (1, 1)
        self.gs_scale = (1, 1)
        self.fs_scale = (1, 1)
        self.line_spacing = LINE_SPACING
        self._line: list[_Glyph] = []
        self._qr_data = b""
        self._qr_size = 3
        self._qr_ec = qrcode.constants.ERROR_CORRECT_M

    def _new_slip(self) -> None:
        self._bands: list[tuple[Image.Image | None, int]] = []
        self._rows: list[SlipRow] = []
        self._lines: list[str] = []
        self._y = 0

    def _add_char(self, ch: str, wide: bool | None = None) -> None:
        wide = render.is_wide(ch) if wide is None else wide
        if wide:
            sx, sy = (max(self.gs_scale[0], self.fs_scale[0]), max(self.gs_scale[1], self.fs_scale[1]))
        else:
            sx, sy = self.ank
        g = _Glyph(ch, wide, sx, sy, self.bold)
        if sum(x.width for x in self._line) + g.width > self.width_dots:
            self._print_line()  # automatic wrap at the paper's edge, as the printer does
        self._line.append(g)

    def _x0(self, width: int) -> int:
        return {0: 0, 1: (self.width_dots - width) // 2, 2: self.width_dots - width}[self.align]

    def _room(self) -> int:
        """Dots of the slip's image still to be drawn (MAX_SLIP_DOTS)."""
        return max(MAX_SLIP_DOTS - self._y, 0)

    def _band(self, kind: str, img: Image.Image | None, height: int, text: str = "", width: int = 0) -> None:
        if img is not None and img.height > self._room():
            img = img.crop((0, 0, img.width, self._room())) if self._room() else None
        self._bands.append((img, height))
        self._rows.append(SlipRow(kind, self._y, height, text, width))
        self._y += height
        if self._paper_rows_left is not None:
            self._paper_rows_left -= height
            if self._paper_rows_left <= 0:
                self.paper = "out"
                self._paper_rows_left = None

    def _feed(self, dots: int) -> None:
        if dots > 0:
            self._band("feed", None, dots)

    def _print_pending(self) -> None:
        if self._line:
            self._print_line()

    def _print_line(self) -> None:
        line, self._line = self._line, []
        if not line:
            self._feed(self.line_spacing)
            return
        tallest = max(g.height for g in line)
        height = max(self.line_spacing, tallest)
        width = sum(g.width for g in line)
        img = None
        if self._room():
            img = Image.new("L", (self.width_dots, height), render.PAPER)
            x = self._x0(width)
            for g in line:
                img.paste(render.glyph(g.ch, g.wide, g.sx, g.sy, g.bold), (x, tallest - g.height))
                x += g.width
        text = "".join(g.ch for g in line)
        self._lines.append(text)
        self._band("text", img, height, text)

    def _raster(self, m: int, xb: int, yb: int, data: bytes) -> None:
        self._print_pending()
        if xb == 0 or yb == 0:
            return
        sx, sy = (2 if m in (1, 3, 49, 51) else 1), (2 if m in (2, 3, 50, 51) else 1)
        width, height = xb * 8 * sx, yb * sy
        band = None
        if self._room():  # only the part that fits on the paper and in the image is drawn
            img = Image.frombytes("1", (xb * 8, yb), data, "raw", "1;I")
            img = img.crop((0, 0, min(img.width, -(-self.width_dots // sx)), min(yb, -(-self._room() // sy))))
            img = img.convert("L")
            if (sx, sy) != (1, 1):
                img = img.resize((img.width * sx, img.height * sy), Image.Resampling.NEAREST)
            band = Image.new("L", (self.width_dots, img.height), render.PAPER)
            band.paste(img, (self._x0(min(width, self.width_dots)), 0))
        self._band("raster", band, height, width=width)

    def _qr_command(self, body: bytes) -> None:
        if len(body) < 2 or body[0] != 0x31:
            self.unknown_commands.append(b"\x1d(k" + body[:2])
            return
        fn = body[1]
        if fn == 0x43 and len(body) >= 3:
            self._qr_size = max(1, min(16, body[2]))
        elif fn == 0x45 and len(body) >= 3:
            self._qr_ec = {48: qrcode.constants.ERROR_CORRECT_L, 49: qrcode.constants.ERROR_CORRECT_M,
                           50: qrcode.constants.ERROR_CORRECT_Q,
                           51: qrcode.constants.ERROR_CORRECT_H}.get(body[2], self._qr_ec)
        elif fn == 0x50:
            self._qr_data = bytes(body[3:])
        elif fn == 0x51:
            self._print_pending()
            if not self._qr_data:
                return
            q = qrcode.QRCode(error_correction=self._qr_ec, box_size=self._qr_size, border=0)
            q.add_data(self._qr_data)
            try:
                q.make(fit=True)
            except (ValueError, DataOverflowError):
                # More data than a version 40 symbol holds: the printer prints no symbol and goes on.
                self.unknown_commands.append(b"\x1d(k1Q")
                return
            sym = q.make_image().get_image().convert("L")
            band = Image.new("L", (self.width_dots, sym.height), render.PAPER)
            band.paste(sym, (self._x0(sym.width), 0))
            self._band("qr", band, sym.height, self._qr_data.decode("utf-8", "replace"), sym.width)
        elif fn != 0x41:  # 0x41 = model: only model 2 is drawn
            self.unknown_commands.append(b"\x1d(k" + body[:2])

    def _cut(self, feed: int) -> None:
        self._print_pending()
        self._feed(CUTTER_FEED + feed)
        top = SLIP_MARGIN
        img = Image.new("L", (self.width_dots, top + min(self._y, MAX_SLIP_DOTS)), render.PAPER)
        y = top
        for band, h in self._bands:
            if band is not None:
                img.paste(band, (0, y))
            y += h
        for row in self._rows:
            row.top += top
        # raw is completed by _process once the cut command's own bytes are counted
        self._just_cut = Slip(list(self._lines), img, b"", list(self._rows))
        self._new_slip()
