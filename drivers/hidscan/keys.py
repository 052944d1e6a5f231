"""What a keyboard-wedge scanner sends, as the kernel hands it over: ``struct input_event``
records, and the US keyboard layout that turns their key codes into characters.

The numbers are the kernel's stable ABI (``linux/input.h``, ``linux/input-event-codes.h``). They
are written out here rather than taken from ``evdev.ecodes`` so that the driver still loads, and
reports ``no_device`` with the reason, where python-evdev cannot be imported;
tests/test_hidscan.py checks them against ``evdev.ecodes``.

A US-layout wedge types ASCII only: it has no key for a Chinese character. Halls whose codes
carry Chinese text set the scanner to serial / USB CDC mode (``/dev/ttyACM*``), which delivers the
code's bytes as they are.
"""

from __future__ import annotations

import struct

# struct input_event { struct timeval time; __u16 type; __u16 code; __s32 value; }: the time is
# two C longs (__kernel_ulong_t on 32-bit kernels with 64-bit time), so native "l" fits both.
EVENT = struct.Struct("@llHHi")

EV_SYN, EV_KEY = 0x00, 0x01
SYN_DROPPED = 3  # the reader's kernel buffer overflowed: events between here and the last read are lost
KEY_UP, KEY_DOWN, KEY_REPEAT = 0, 1, 2  # values of an EV_KEY event

KEY_TAB, KEY_ENTER, KEY_KPENTER, KEY_CAPSLOCK = 15, 28, 96, 58
SHIFTS = frozenset({42, 54})  # KEY_LEFTSHIFT, KEY_RIGHTSHIFT
# Ctrl, Alt, AltGr, Meta: with one held, a key is a shortcut, not a character of the code.
OTHER_MODIFIERS = frozenset({29, 97, 56, 100, 125, 126})

# Key code → (character, character with Shift), row by row from the first code of each run.
_ROWS = (
    (2, "1234567890-=", "!@#$%^&*()_+"),
    (16, "qwertyuiop[]", "QWERTYUIOP{}"),
    (30, "asdfghjkl;'`", 'ASDFGHJKL:"~'),
    (43, "\\zxcvbnm,./", "|ZXCVBNM<>?"),
    (55, "*", "*"),  # KEY_KPASTERISK
    (57, " ", " "),
    (71, "789-456+1230.", "789-456+1230."),  # the keypad, Num Lock on (Shift does not change it)
    (98, "/", "/"),  # KEY_KPSLASH
)
LAYOUT: dict[int, tuple[str, str]] = {
    first + i: (plain[i], shifted[i]) for first, plain, shifted in _ROWS for i in range(len(plain))
}
# Enter and Tab are text (a vCard's line break) unless they are the configured suffix.
CONTROL_KEYS = {KEY_ENTER: "\n", KEY_KPENTER: "\n", KEY_TAB: "\t"}
SUFFIX_KEYS = {"enter": frozenset({KEY_ENTER, KEY_KPENTER}), "tab": frozenset({KEY_TAB}), "none": frozenset()}

