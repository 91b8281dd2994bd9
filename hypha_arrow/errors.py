"""One error family: ``except HyphaArrowError`` catches everything the codec refuses.

Like msgspec's, each error names where the bad value sits (``args[0]['table']``). Its text is
built only when an error is raised, from what the code at hand already tracks (the walk's
path on encode, the descriptor's column paths on decode), so success never pays for it.
"""

from __future__ import annotations


class HyphaArrowError(Exception):
    """A value the codec cannot send, or bytes it cannot read.

    ``reason`` says what is wrong, ``path`` where (None when not known); the message is both.
    """

    def __init__(self, reason: str, path: str | None = None) -> None:
        self.reason = reason
        self.path = path
        super().__init__(f"{path}: {reason}" if path else reason)

    def __reduce__(self) -> tuple[type, tuple[str, str | None]]:  # pickled (to another process), it keeps its path
        return type(self), (self.reason, self.path)


class DecodeError(HyphaArrowError, ValueError):
    """Bytes that are not a valid frame: malformed, truncated, hostile or over a limit.

    ``path`` is the bad column's place in the value; None when the fault is in the frame
    itself (msgpack, descriptor, Arrow stream). A ValueError too, as it was before the family.
    """


class EncodeError(HyphaArrowError, TypeError):
    """A value the codec cannot send. A TypeError too, as it was before the family.

    A value family gives a ``path`` relative to its value (``[3]``, or none for the value
    itself); the tree walk prefixes where that value sits when it re-raises.
    """


class IncompatibleHyphaRPC(HyphaArrowError, RuntimeError):
    """The installed hypha-rpc lacks an internal the RPC layer relies on (``reason`` lists them)."""


class TransferRefused(HyphaArrowError, PermissionError):
    """A chunked message a receiver would not take: over one of its budgets (``Config``), or
    not the sender's to touch (only the client that created a message may add to it, process
    it or remove it). ``path`` is the message's key. Raised in the receiver, it reaches the
    sender as the error of the chunk, ``create`` or ``process`` call."""
