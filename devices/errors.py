"""Errors a driver raises; the manager turns them into status and error events."""


class DeviceError(Exception):
    """A device-level failure with a message for staff (English) and one for citizens (Chinese)."""

    code = "device_error"

    def __init__(self, message: str, *, code: str | None = None, zh: str | None = None,
                 partial: bool = False):
        super().__init__(message)
        if code:
            self.code = code
        self.zh = zh or message
        # The device had already taken (part of) the request when it failed, e.g. a printer that
        # stopped mid-job and holds the rest: sending the request again could do it twice.
        self.partial = partial


class DeviceGone(DeviceError):
    """The port vanished or stopped answering: the manager closes and reopens it with backoff."""

    code = "no_device"


class ProtocolError(DeviceError):
    """The device answered bytes that do not form a valid reply."""

    code = "protocol_error"


class DeviceTimeout(DeviceError):
    code = "timeout"
