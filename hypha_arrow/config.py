"""Codec options: one frozen value object, validated once at construction."""

from __future__ import annotations

from dataclasses import dataclass

PATTERNS = frozenset({"arrays", "strings", "records", "compression"})
COMPRESSION_ALGORITHMS = (None, "lz4", "zstd", "auto")
RECORDS_AS = ("list", "pandas", "arrow")

GiB = 1 << 30


@dataclass(frozen=True, kw_only=True)
class Config:
    """How values are encoded and what a decoder accepts.

    Encoding options:
      enable_binary_optimization: False sends exactly what stock hypha-rpc sends.
      binary_threshold: values whose data is smaller than this many bytes stay msgpack.
      optimization_patterns: which families go columnar: "arrays" (numpy),
        "strings" (str/bytes lists), "records" (lists of dicts), "compression".
      compression_algorithm: None, "lz4", "zstd" or "auto" (sample, compress only if it pays).
      compression_level: codec level, None for the codec's default.
      typed_array_optimization: homogeneous int/float/bool lists go columnar.
      records_as: what a record list decodes to: "list" of dicts, "pandas", "arrow".

    Decoding limits (checked before anything is allocated):
      max_frame_bytes, max_section_bytes, max_decompressed_bytes, max_columns, max_depth.

    Receiving over RPC:
      transfer_idle_timeout: seconds without a new chunk after which a partial chunked
        message is dropped (its sender left or lost its connection mid-transfer).
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
    max_decompressed_bytes: int = 4 * GiB
    max_columns: int = 10_000
    max_depth: int = 128
    transfer_idle_timeout: float = 60.0

    def __post_init__(self) -> None:
        patterns = self.optimization_patterns
        if isinstance(patterns, str) or not all(isinstance(p, str) for p in patterns):
            raise ValueError(f"optimization_patterns must be a collection of names, got {patterns!r}")
        unknown = set(patterns) - PATTERNS
        if unknown:
            raise ValueError(f"optimization_patterns: unknown {sorted(unknown)}, choose from {sorted(PATTERNS)}")
        object.__setattr__(self, "optimization_patterns", frozenset(patterns))
        if self.compression_algorithm not in COMPRESSION_ALGORITHMS:
            raise ValueError(f"compression_algorithm must be one of {COMPRESSION_ALGORITHMS}, got {self.compression_algorithm!r}")
        if self.records_as not in RECORDS_AS:
            raise ValueError(f"records_as must be one of {RECORDS_AS}, got {self.records_as!r}")
        if self.compression_level is not None and not _is_int(self.compression_level):
            raise ValueError(f"compression_level must be an int or None, got {self.compression_level!r}")
        for name in ("enable_binary_optimization", "typed_array_optimization"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be a bool, got {getattr(self, name)!r}")
        _require_non_negative(self, "binary_threshold")
        for name in ("max_frame_bytes", "max_section_bytes", "max_decompressed_bytes", "max_columns", "max_depth"):
            _require_non_negative(self, name, minimum=1)
        timeout = self.transfer_idle_timeout
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not timeout > 0:
            raise ValueError(f"transfer_idle_timeout must be a number of seconds > 0, got {timeout!r}")

    def uses(self, pattern: str) -> bool:
        """Whether a family of values goes columnar under this config."""
        return self.enable_binary_optimization and pattern in self.optimization_patterns


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _require_non_negative(config: Config, name: str, minimum: int = 0) -> None:
    value = getattr(config, name)
    if not _is_int(value) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}")


DEFAULT_CONFIG = Config()
