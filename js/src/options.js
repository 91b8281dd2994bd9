/** Decoder settings: Python's `Config` decoding limits, camelCased, with the same defaults. */
const GiB = 2 ** 30;
const MiB = 2 ** 20;

export const DEFAULTS = Object.freeze({
  maxFrameBytes: 4 * GiB,
  maxSectionBytes: 4 * GiB,
  maxDecompressedBytes: 256 * MiB,
  maxColumns: 10_000,
  maxDepth: 512,
  recordsAs: "objects",
});

/** `options` over the defaults, each checked. */
export function resolveOptions(options = {}) {
  const resolved = { ...DEFAULTS, ...options };
  for (const name of ["maxFrameBytes", "maxSectionBytes", "maxDecompressedBytes", "maxColumns", "maxDepth"]) {
    const value = resolved[name];
    if (!Number.isSafeInteger(value) || value < 1) throw new RangeError(`${name} must be an integer >= 1, got ${value}`);
  }
  if (!["objects", "table"].includes(resolved.recordsAs)) throw new RangeError(`recordsAs must be "objects" or "table", got ${resolved.recordsAs}`);
  return resolved;
}
