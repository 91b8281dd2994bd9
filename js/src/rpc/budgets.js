/**
 * Receive-side budgets (docs/wire-format.md 9.4), the port of Python's `hypha_arrow/rpc/budgets.py`.
 *
 * hypha-rpc registers every client's built-in service, whose `message_cache` receives large
 * messages, as public, and the server forwards a call to it from any workspace unchecked. Left
 * alone, one anonymous client can pin gigabytes in a JS peer (a message that never completes,
 * many at once, one byte every few seconds) or write into a message someone else is sending.
 * `IncomingTransfers` is the bookkeeping: every `create` and chunk is checked here before it
 * is stored; what is over a budget is dropped at once (through `drop`) and refused with the
 * Python side's texts, so a sender sees the same refusal from either language.
 */
import { TransferRefused } from "../errors.js";
import { resolveOptions } from "../options.js";

const MiB = 2 ** 20;

/** Marks a hypha_arrow sender's message key: `{session}~ha~{unique id}`. */
export const KEY_MARK = "~ha~";
/** Characters of a message key: a session id, `KEY_MARK` and a unique id fit many times over. */
export const MAX_KEY_LENGTH = 256;
/** What a hypha_arrow sender sends at most for one `~ha~` message: 400 chunks of at most 15 MiB. */
export const HYBRID_MAX_CHUNKS = 400;
export const CHUNK_MAX = 15 * MiB;
/** Refused keys remembered, so the sender's later chunks get the same error, not a missing key. */
const REFUSALS_KEPT = 64;

/** A chunked message being received, and what it costs. */
class Partial {
  constructor(sender, now, maxChunks) {
    this.sender = sender;
    this.created = now;
    this.lastChunk = now;
    this.maxChunks = maxChunks;
    this.size = 0;
    this.lengths = new Map(); // index -> bytes, for overwrites
    this.next = 0; // where an `append` goes: after the highest index, as hypha-rpc's push does
  }
}

/** What one connection's chunked messages may cost it, and whose they are. */
export class IncomingTransfers {
  /**
   * @param {object} options the package's options (`maxMessageBytes`, ..., `transferIdleTimeout`)
   * @param {(key: string, reason: string) => void} drop frees a message's chunks
   */
  constructor(options, drop) {
    this.budgets = resolveOptions(options);
    this.drop = drop;
    this.partials = new Map();
    this.bySender = new Map(); // sender -> {messages, size}
    this.total = { messages: 0, size: 0 };
    this.refused = new Map(); // key -> [sender, reason], oldest first
    this.expiry = null;
    this.expiresAt = Infinity;
  }

  get pendingBytes() {
    return this.total.size;
  }

  /** Refuse a `create` that would take a message of someone else's or exceed a count. */
  admitCreate(key, sender) {
    const o = this.budgets;
    if (typeof key !== "string" || key.length > MAX_KEY_LENGTH) {
      throw new TransferRefused(`refused: a message key must be a string of at most ${MAX_KEY_LENGTH} characters`);
    }
    if (this.refused.get(key)?.[0] === sender) this.refused.delete(key); // its sender starts it again
    const partial = this.partials.get(key);
    if (partial) {
      checkOwner(key, partial, sender);
      return;
    }
    const mine = this.bySender.get(sender)?.messages ?? 0;
    if (mine >= o.maxPartialMessagesPerSender) {
      throw new TransferRefused(`refused: ${sender} has ${mine} unfinished messages here, the most max_partial_messages_per_sender=${o.maxPartialMessagesPerSender} allows`, key);
    }
    if (this.total.messages >= o.maxPartialMessages) {
      throw new TransferRefused(`refused: ${this.total.messages} unfinished messages are held here, the most max_partial_messages=${o.maxPartialMessages} allows`, key);
    }
  }

  /** An empty message is stored under `key` (a new one, or one started afresh). */
  created(key, sender) {
    const now = Date.now();
    const old = this.partials.get(key);
    if (old) this.release(key, old);
    const maxChunks = key.includes(KEY_MARK) ? Math.min(this.budgets.maxChunks, HYBRID_MAX_CHUNKS) : this.budgets.maxChunks;
    this.partials.set(key, new Partial(sender, now, maxChunks));
    this.count(sender, 1, 0);
    this.arm(now + 1000 * Math.min(this.budgets.transferIdleTimeout, this.budgets.transferDeadline));
  }

  /**
   * Check one chunk for `key` (`index` null: appended); the index it goes to and the bytes it
   * adds, or null for a message not held here. Over a budget, the message is dropped and
   * `TransferRefused` thrown.
   */
  admitChunk(key, sender, index, data) {
    const partial = this.owned(key, sender);
    if (!partial) return null;
    index ??= partial.next;
    if (typeof index !== "number" || !Number.isInteger(index) || index < 0 || index >= partial.maxChunks) {
      this.refuse(key, partial, `chunk index ${repr(index)} is not an int from 0 to ${partial.maxChunks - 1} (max_chunks)`);
    }
    if (!(data instanceof Uint8Array)) this.refuse(key, partial, `a chunk must be bytes, got ${typeName(data)}`);
    if (key.includes(KEY_MARK) && data.length > CHUNK_MAX) {
      this.refuse(key, partial, `a chunk of ${data.length} bytes is over the ${CHUNK_MAX} hypha_arrow senders send`);
    }
    const added = data.length - (partial.lengths.get(index) ?? 0);
    const over = this.overBudget(sender, added, partial.size);
    if (over !== null) this.refuse(key, partial, over);
    return { index, added };
  }

  /** The chunk `admitChunk` let through is stored. */
  stored(key, { index, added }, length) {
    const partial = this.partials.get(key);
    if (!partial) return;
    partial.lengths.set(index, length);
    partial.next = Math.max(partial.next, index + 1);
    partial.size += added;
    partial.lastChunk = Date.now();
    this.count(partial.sender, 0, added);
  }

  /** The owner's `process` or `remove`: the message, or null when not held here. Refused keys answer with their reason. */
  claim(key, sender) {
    return this.owned(key, sender);
  }

  /** Whether a `remove` has anything to do: not for a message refused (and so dropped) already, its sender cleaning up. */
  admitRemove(key, sender) {
    const refused = typeof key === "string" ? this.refused.get(key) : undefined;
    if (refused && refused[0] === sender && !this.partials.has(key)) {
      this.refused.delete(key);
      return false;
    }
    this.owned(key, sender);
    return true;
  }

  /** The message was handled, failed or removed: it no longer counts. */
  finished(key) {
    const partial = this.partials.get(key);
    if (partial) this.release(key, partial);
  }

  /** Drop the message for a reason found while processing it; the error for its sender. */
  refusal(key, reason) {
    const partial = this.partials.get(key);
    if (partial) {
      this.remember(key, partial.sender, reason);
      this.discard(key, partial, reason);
    }
    return new TransferRefused(`refused: ${reason}`, key);
  }

  // -- inside -------------------------------------------------------------------------------

  owned(key, sender) {
    if (typeof key !== "string") return null;
    const refused = this.refused.get(key);
    if (refused && refused[0] === sender) throw new TransferRefused(`refused: ${refused[1]}`, key);
    const partial = this.partials.get(key) ?? null;
    if (partial) checkOwner(key, partial, sender);
    return partial;
  }

  /** Which byte budget `added` more bytes from `sender` (to a message of `messageSize`) would exceed, or null. */
  overBudget(sender, added, messageSize) {
    const o = this.budgets;
    for (const [held, limit, name] of [
      [messageSize, o.maxMessageBytes, "max_message_bytes"],
      [this.bySender.get(sender)?.size ?? 0, o.maxPendingBytesPerSender, "max_pending_bytes_per_sender"],
      [this.total.size, o.maxPendingBytes, "max_pending_bytes"],
    ]) {
      if (held + added > limit) return `${held + added} bytes would be over ${name}=${limit}`;
    }
    return null;
  }

  refuse(key, partial, reason) {
    this.remember(key, partial.sender, reason);
    this.discard(key, partial, reason);
    throw new TransferRefused(`refused: ${reason}; the message was dropped`, key);
  }

  remember(key, sender, reason) {
    this.refused.delete(key);
    this.refused.set(key, [sender, reason]);
    if (this.refused.size > REFUSALS_KEPT) this.refused.delete(this.refused.keys().next().value);
  }

  count(sender, messages, size) {
    const holdings = this.bySender.get(sender) ?? { messages: 0, size: 0 };
    holdings.messages += messages;
    holdings.size += size;
    this.total.messages += messages;
    this.total.size += size;
    if (holdings.messages || holdings.size) this.bySender.set(sender, holdings);
    else this.bySender.delete(sender);
  }

  release(key, partial) {
    this.partials.delete(key);
    this.count(partial.sender, -1, -partial.size);
    if (!this.partials.size && this.expiry !== null) {
      clearTimeout(this.expiry);
      this.expiry = null;
      this.expiresAt = Infinity;
    }
  }

  discard(key, partial, reason) {
    this.release(key, partial);
    this.drop(key, reason);
  }

  /** Make sure the expiry check runs no later than `when` (ms since the epoch). */
  arm(when) {
    if (this.expiry !== null && this.expiresAt <= when) return;
    if (this.expiry !== null) clearTimeout(this.expiry);
    this.expiresAt = when;
    this.expiry = setTimeout(() => this.expire(), Math.max(0, when - Date.now()));
    this.expiry.unref?.(); // an idle check must not keep Node alive
  }

  /** Drop every message past its deadline or idle timeout; run again at the next one due. */
  expire() {
    this.expiry = null;
    this.expiresAt = Infinity;
    const o = this.budgets;
    const now = Date.now();
    const due = [];
    for (const [key, partial] of [...this.partials]) {
      const idleEnd = partial.lastChunk + 1000 * o.transferIdleTimeout;
      const deadline = partial.created + 1000 * o.transferDeadline;
      if (now >= deadline) this.refusal(key, `not complete within transfer_deadline=${o.transferDeadline} s of its creation; the message was dropped`);
      else if (now >= idleEnd) this.refusal(key, `no chunk arrived for transfer_idle_timeout=${o.transferIdleTimeout} s; the message was dropped`);
      else due.push(Math.min(idleEnd, deadline));
    }
    if (due.length) this.arm(Math.min(...due));
  }
}

function checkOwner(key, partial, sender) {
  if (partial.sender !== sender) throw new TransferRefused(`refused: the message was created by another client, not by ${sender}`, key);
}

/** A value as the refusal texts show it: strings quoted, at most 40 characters. */
function repr(value) {
  return (typeof value === "string" ? `'${value}'` : String(value)).slice(0, 40);
}

function typeName(value) {
  if (value === null) return "null";
  if (typeof value !== "object") return typeof value;
  return value.constructor?.name ?? "object";
}
