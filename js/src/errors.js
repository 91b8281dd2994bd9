/**
 * One error family, as in Python: `HyphaArrowError` catches everything the codec refuses.
 * Each error names where the bad value sits (`args[0]["table"]`) when that is known.
 */
export class HyphaArrowError extends Error {
  /**
   * @param {string} reason what is wrong
   * @param {string | null} [path] where, or null when not known
   */
  constructor(reason, path = null) {
    super(path ? `${path}: ${reason}` : reason);
    this.name = new.target.name;
    this.reason = reason;
    this.path = path;
  }
}

/** Bytes that are not a valid frame: malformed, truncated, hostile or over a limit. */
export class DecodeError extends HyphaArrowError {}

/** A value the codec cannot send. */
export class EncodeError extends HyphaArrowError {}

/**
 * A chunked message a receiver would not take: over one of its budgets, or not the sender's to
 * touch (only the client that created a message may add to it, process it or remove it).
 * `path` is the message's key. It reaches the sender as the error of its call.
 */
export class TransferRefused extends HyphaArrowError {}
