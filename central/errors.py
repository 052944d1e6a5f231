"""The one exception endpoints and stores raise to answer with the error envelope."""

from __future__ import annotations


class ApiError(Exception):
    """HTTP ``status`` with ``{"error": {"code", "message", "zh"}}``; ``zh`` only when a citizen
    should read it."""

    def __init__(self, status: int, code: str, message: str, zh: str = ""):
        super().__init__(message)
        self.status, self.code, self.message, self.zh = status, code, message, zh
