"""Codec options: one frozen value object, validated once at construction."""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

PATTERNS = frozenset({"arrays", "strings", "records", "compression"})
"""The switches of ``optimization_patterns``. Each value family declares the ones it answers to
(its ``patterns``, which the registry in ``hypha_arrow.families`` checks against these);
"compression" is the Arrow section's. They are named here rather than gathered from the
families because the families import this module, and ``DEFAULT_CONFIG`` needs them as it loads."""
COMPRESSION_ALGORITHMS = (None, "lz4", "zstd", "auto")
RECORDS_AS = ("list", "pandas", "arrow")

MiB = 1 << 20
GiB = 1 << 30
_C_INT = (-(1 << 31), (1 << 31) - 1)
DEFAULT_MAX_DEPTH = 512
"""msgpack packs and unpacks 1024 levels; hypha-rpc's recursive ``_encode`` reaches about 490
in a hypha_arrow client (its patched ``_encode`` takes two frames a level). 512 leaves Python's
1000-frame stack room for the encode walk (one frame a level) and the family at the bottom."""


@dataclass(frozen=True, kw_only=True)
class Config:
    """How values are encoded and what a decoder accepts.

    Encoding options:
      enable_binary_optimization: False sends exactly what stock hypha-rpc sends.
      binary_threshold: values whose data is smaller than this many bytes stay msgpack.
      optimization_patterns: which of ``PATTERNS`` are on. A family whose switch is off keeps
        its msgpack form (see each family's ``patterns``); "compression" off sends the section plain.
      compression_algorithm: None, "lz4", "zstd" or "auto" (sample, compress only if it pays).
      compression_level: codec level, None for the codec's default.
      typed_array_optimization: homogeneous int/float/bool lists go columnar.
      records_as: what a record list decodes to: "list" of dicts, "pandas", "arrow".

    Decoding limits (checked before anything is allocated):
      max_frame_bytes, max_section_bytes, max_columns, max_depth;
      max_decompressed_bytes: what a compressed Arrow section may inflate to, checked from
        its declared sizes before anything is inflated.

    Receiving over RPC (budgets for what any client of the server may send this one; a chunk
    or message over one is refused with an error to its sender, and its message freed):
      max_message_bytes: bytes of one chunked message.
      max_pending_bytes_per_sender, max_pending_bytes: bytes of unfinished chunked messages
        held at once for one sender, and for all senders together.
      max_partial_messages_per_sender, max_partial_messages: how many of them at once.
      max_chunks: chunks of one message (stock senders send 256 KiB chunks).
      transfer_deadline: seconds from a message's ``create`` by which it must be complete.
      transfer_idle_timeout: seconds without a new chunk after which it is dropped.
    """

    enable_binary_optimization: bool = True
    binary_threshold: int = 1000
    optimization_patterns: frozenset[str] = PATTERNS
    compression_algorithm: str | None = None
    compression_level: int | None = None
    typed_array_optimization: bool = True
    records_as: str = "list"
    max_frame_bytes: int = 4 * GiB
    max_section_bytes: int = 4 * GiB
    max_decompressed_bytes: int = 256 * MiB
    max_columns: int = 10_000
    max_depth: int = DEFAULT_MAX_DEPTH
    max_message_bytes: int = 1536 * MiB
    max_pending_bytes_per_sender: int = 1536 * MiB
    max_pending_bytes: int = 2 * GiB
    max_partial_messages_per_sender: int = 256
    max_partial_messages: int = 1024
    max_chunks: int = 8192
    transfer_deadline: float = 300.0
    transfer_idle_timeout: float = 30.0

    def __post_init__(self) -> None:
        patterns = _names(self.optimization_patterns)
        unknown = patterns - PATTERNS
        if unknown:
            raise ValueError(f"optimization_patterns: unknown {sorted(unknown)}, choose from {sorted(PATTERNS)}")
        object.__setattr__(self, "optimization_patterns", patterns)
        if self.compression_algorithm not in COMPRESSION_ALGORITHMS:
            raise ValueError(f"compression_algorithm must be one of {COMPRESSION_ALGORITHMS}, got {self.compression_algorithm!r}")
        if self.records_as not in RECORDS_AS:
            raise ValueError(f"records_as must be one of {RECORDS_AS}, got {self.records_as!r}")
        if self.compression_level is not None:
            _check_level(self.compression_level, self.compression_algorithm)
        for name in ("enable_binary_optimization", "typed_array_optimization"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be a bool, got {getattr(self, name)!r}")
        _require_non_negative(self, "binary_threshold")
        for name in _POSITIVE_INTS:
            _require_non_negative(self, name, minimum=1)
        for name in ("transfer_deadline", "transfer_idle_timeout"):
            seconds = getattr(self, name)
            if isinstance(seconds, bool) or not isinstance(seconds, int | float) or not seconds > 0:
                raise ValueError(f"{name} must be a number of seconds > 0, got {seconds!r}")

    def uses(self, pattern: str) -> bool:
        """Whether a family of values goes columnar under this config."""
        return self.enable_binary_optimization and pattern in self.optimization_patterns


_POSITIVE_INTS = (
    "max_frame_bytes", "max_section_bytes", "max_decompressed_bytes", "max_columns", "max_depth",
    "max_message_bytes", "max_pending_bytes_per_sender", "max_pending_bytes",
    "max_partial_messages_per_sender", "max_partial_messages", "max_chunks",
)


def _names(patterns: object) -> frozenset[str]:
    """``optimization_patterns`` as a set of names (a lone string is one name's letters: refused)."""
    if not isinstance(patterns, str):
        try:
            names = frozenset(patterns)
        except TypeError:  # not iterable, or unhashable items
            names = None
        if names is not None and all(isinstance(p, str) for p in names):
            return names
    raise ValueError(f"optimization_patterns must be a collection of names, got {patterns!r}")


def _check_level(level: object, algorithm: str | None) -> None:
    """A level pyarrow accepts for the codec the config may use; without one, a C int.

    pyarrow takes levels beyond its codec's range and out-of-range ints only fail at encode.
    """
    if algorithm is None:
        codec, (low, high) = "a C int", _C_INT
    else:
        from .compression import AUTO_CODEC  # compression imports this module

        codec = AUTO_CODEC if algorithm == "auto" else algorithm
        low, high = pa.Codec.minimum_compression_level(codec), pa.Codec.maximum_compression_level(codec)
    if not _is_int(level) or not low <= level <= high:
        raise ValueError(f"compression_level must be an int from {low} to {high} ({codec}), got {level!r}")


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _require_non_negative(config: Config, name: str, minimum: int = 0) -> None:
    value = getattr(config, name)
    if not _is_int(value) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}")


DEFAULT_CONFIG = Config()
