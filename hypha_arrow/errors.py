"""The two error types callers catch: one for decoding, one for encoding."""


class DecodeError(ValueError):
    """Bytes that are not a valid frame: malformed, truncated, hostile or over a limit."""


class EncodeError(TypeError):
    """A value the codec cannot send; the message names where it sits (``args[0]['price']``)."""

    def __init__(self, reason: str, path: str = "") -> None:
        self.reason = reason
        self.path = path
        super().__init__(f"{path}: {reason}" if path else reason)
