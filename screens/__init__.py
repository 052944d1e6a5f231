"""Kivy screens: they render view state and forward touches; no device, socket or file here."""
