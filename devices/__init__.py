"""What a device is to the application: contracts, status words, events, the manager.

Plain Python: nothing here imports Kivy, the application core or a driver module.
"""
