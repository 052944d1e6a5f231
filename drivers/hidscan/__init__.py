"""USB barcode/QR scanner in keyboard-wedge (HID) mode, read through Linux evdev (see driver.py)."""
