"""Drivers: one package per wire protocol, each with an emulator of its device."""
