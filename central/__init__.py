"""Reference central platform (HTTP API + SQLite): the embedded default for the demo and tests."""
