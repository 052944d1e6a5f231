"""Example kiosk driver package: a serial QR/barcode scanner (see driver.py)."""
