/**
 * Large messages arriving (docs/wire-format.md 9.3, 9.4): every call of this client's
 * `services.built-in.message_cache`, whoever sends it, is taken here instead of by hypha-rpc JS.
 *
 * hypha-rpc JS's own cache holds what anyone sends it: no ownership, no byte or chunk bound,
 * 256 messages at most, beyond which it evicts the oldest (a legitimate transfer goes first),
 * and messages older than 5 minutes are looked at only when it is full; it joins a hybrid
 * message and reads only its skeleton, and a message that fails to decode stays in it. So the
 * WebSocket wrapper keeps the chunks here, checked against the receive budgets (`budgets.js`),
 * answers each call as hypha-rpc would (its promise's resolve or reject method) and, on
 * `process`, hands hypha-rpc the joined message with the server-stated sender: decoded when
 * hybrid, as the frame hypha-rpc would have joined otherwise.
 */
import { Encoder } from "@msgpack/msgpack";
import { isSkeleton, joinFrame } from "../framing.js";
import { DecodeError, HyphaArrowError } from "../errors.js";
import { decodeObject, objectEnd } from "../msgpack.js";
import { resolveOptions } from "../options.js";
import { IncomingTransfers, KEY_MARK } from "./budgets.js";
import { declaresCompression, decodeOffLoop, decodeWithoutInflating } from "./inflater.js";

const CACHE_METHOD = "services.built-in.message_cache.";
const REASON_CHARS = 2000; // of a refused call's reason, as Python's `hypha_arrow_refused` keeps
const ENCODER = new Encoder({ useBigInt64: true });

/** This connection's message cache: the chunks, their budgets, and the replies. */
export class Transfers {
  /**
   * @param {object} options the package's options (decoding limits and receive budgets)
   * @param {(frame: Uint8Array) => void} send writes a frame to the server
   * @param {(data: object | ArrayBuffer) => void} deliver hands hypha-rpc a message (an object) or a frame
   */
  constructor(options, send, deliver) {
    this.options = resolveOptions(options);
    this.send = send;
    this.deliver = deliver;
    this.chunks = new Map(); // key -> Map(index -> Uint8Array)
    this.budgets = new IncomingTransfers(this.options, (key) => this.chunks.delete(key));
  }

  /**
   * Whether the frame is a call this object handles (its extra read only if so); handles it if
   * so. A Promise (truthy) while its handling goes on: a `process` whose message inflates off
   * the event loop, answered once handed over.
   */
  take(header, readExtra) {
    const method = header?.method;
    if (header?.type !== "method" || typeof method !== "string" || !method.startsWith(CACHE_METHOD)) return false;
    const extra = readExtra();
    const args = Array.isArray(extra?.args) ? extra.args : [];
    const resolved = (result) => this.reply(header, extra, "resolve", result ?? null);
    const rejected = (error) => this.reply(header, extra, "reject", { _rtype: "error", _rvalue: String(error.message), _rtrace: "" });
    try {
      const result = this.handle(method.slice(CACHE_METHOD.length), args, header);
      if (result instanceof Promise) return result.then(resolved, rejected);
      resolved(result);
    } catch (error) {
      rejected(error);
    }
    return true;
  }

  /** What a frame of `bytes` from `sender` waiting its turn would put over a byte budget, or null (`inbox.js`). */
  overBudget(sender, bytes) {
    return this.budgets.overBudget(sender, bytes, 0);
  }

  /** Count `bytes` (negative: freed) of frames waiting their turn against the sender's budgets. */
  count(sender, bytes) {
    this.budgets.count(sender, 0, bytes);
  }

  handle(operation, [key, ...rest], header) {
    const sender = String(header.from);
    switch (operation) {
      case "create": {
        const [heartbeat, overwrite] = rest;
        this.budgets.admitCreate(key, sender);
        if (!overwrite && this.chunks.has(key)) {
          throw new Error(`Message with the same key (${key}) already exists in the cache store, please use overwrite=true or remove it first.`);
        }
        this.chunks.set(key, new Map());
        this.budgets.created(key, sender);
        this.heartbeat(key, heartbeat, header);
        return null;
      }
      case "set":
        return this.add(key, rest[0], rest[1], rest[2], header);
      case "append":
        return this.add(key, null, rest[0], rest[1], header);
      case "process":
        return this.process(key, rest[0], header);
      case "remove":
        if (this.budgets.admitRemove(key, sender)) {
          this.missing(key);
          this.budgets.finished(key);
          this.chunks.delete(key);
        }
        return null;
      default:
        throw new Error(`refused: unknown message-cache call ${String(operation).slice(0, 40)}`);
    }
  }

  add(key, index, data, heartbeat, header) {
    const admitted = this.budgets.admitChunk(key, String(header.from), index, data);
    this.missing(key);
    this.chunks.get(key).set(admitted.index, data);
    this.budgets.stored(key, admitted, data.length);
    this.heartbeat(key, heartbeat, header);
    return null;
  }

  /**
   * Join the owner's message and hand it over; refused when a chunk is missing or it does not
   * decode. A Promise while its section inflates off the event loop; its bytes count until then.
   */
  process(key, heartbeat, header) {
    this.budgets.claim(key, String(header.from));
    this.missing(key);
    this.heartbeat(key, heartbeat, header);
    const chunks = this.chunks.get(key);
    this.chunks.delete(key);
    const handed = (isMessage) => {
      if (!isMessage) throw new DecodeError("not a hypha-rpc message: a map, then optionally another map");
      return null;
    };
    const refused = (error) => {
      if (!(error instanceof HyphaArrowError)) throw error;
      throw this.budgets.refusal(key, error.message);
    };
    let later = false;
    try {
      const outcome = this.hand(join(chunks), header);
      if (outcome instanceof Promise) {
        later = true;
        return outcome.then(handed).catch(refused).finally(() => this.budgets.finished(key));
      }
      return handed(outcome);
    } catch (error) {
      return refused(error);
    } finally {
      if (!later) this.budgets.finished(key);
    }
  }

  /**
   * Hand a joined message to hypha-rpc with the sender as the server stated it (as hypha-rpc's
   * own message cache does); false when it is not two msgpack maps; a Promise of that while its
   * section inflates off the event loop. A hybrid message whose section is refused is answered
   * as a call that failed, when it awaits an answer.
   */
  hand(frame, header) {
    const trusted = { from: header.from, to: header.to, ws: header.ws, user: header.user };
    const headerEnd = objectEnd(frame, 0, 64);
    const main = decodeObject(frame.subarray(0, headerEnd));
    if (!isMap(main)) return false;
    const extraEnd = headerEnd < frame.length ? objectEnd(frame, headerEnd, this.options.maxDepth) : headerEnd;
    const skeleton = extraEnd < frame.length ? decodeObject(frame.subarray(headerEnd, extraEnd)) : null;
    if (!isSkeleton(skeleton)) {
      const head = ENCODER.encode(Object.assign(main, trusted));
      const out = new Uint8Array(head.length + frame.length - headerEnd);
      out.set(head, 0);
      out.set(frame.subarray(headerEnd), head.length);
      this.deliver(out.buffer);
      return true;
    }
    const delivered = ([decodedHeader, extra]) => {
      this.deliver(Object.assign(decodedHeader, extra ?? {}, trusted));
      return true;
    };
    const refused = (error) => {
      if (error instanceof DecodeError && this.refuseCall(Object.assign(main, trusted), skeleton, error)) return true;
      throw error;
    };
    let decoded;
    try {
      decoded = declaresCompression(skeleton) ? null : decodeWithoutInflating(frame, this.options);
    } catch (error) {
      return refused(error);
    }
    // a frame joined from several chunks is this object's own; one chunk is a view of the frame it came in
    return decoded === null ? decodeOffLoop(frame, this.options, { handOver: true }).then(delivered, refused) : delivered(decoded);
  }

  /**
   * Answer a call whose frame was refused (over a decoding limit, malformed) as a call that
   * failed with the reason, as Python's `hypha_arrow_refused` does, so its caller hears at once
   * instead of at its timeout; false when it is no call awaiting an answer.
   */
  refuseCall(header, extra, error) {
    if (header?.type !== "method" || !isMap(extra) || !extra.promise) return false;
    const reason = `hypha_arrow at ${header.to} refused the call of '${String(header.method).slice(0, 200)}': ${error.message}`;
    this.reply(header, extra, "reject", { _rtype: "error", _rvalue: reason.slice(0, REASON_CHARS), _rtrace: "" });
    return true;
  }

  /** hypha-rpc's error for a key it does not hold, when the budgets do not hold it either. */
  missing(key) {
    if (!this.chunks.has(key)) throw new Error(`Message with key ${key} does not exists.`);
  }

  /**
   * A stock sender's `heartbeat` flag: its message's key is the session of the call it answers,
   * whose timer hypha-rpc resets through the session's heartbeat callback (a session without
   * one: hypha-rpc logs the failed call, as it logs any failed call that awaits no answer).
   */
  heartbeat(key, flag, header) {
    if (flag !== true || key.includes(KEY_MARK)) return;
    this.deliver({ type: "method", from: header.from, to: header.to, ws: header.ws, user: header.user, method: `${key}.heartbeat`, args: [], with_kwargs: false });
  }

  /** Answer a call the way hypha-rpc answers one: its promise's resolve or reject method. */
  reply(header, extra, outcome, value) {
    const promise = extra?.promise;
    if (!promise) return;
    let target;
    let method;
    if (promise === "*") {
      const [workspace, client] = String(header.from).split("/");
      target = `${workspace}/${client}`;
      method = `${header.session}.${outcome}`;
    } else {
      const callback = promise[outcome];
      if (!callback?._rtarget || !callback?._rmethod) return;
      const [workspace] = String(header.from).split("/");
      target = callback._rtarget.includes("/") ? callback._rtarget : `${workspace}/${callback._rtarget}`;
      method = callback._rmethod;
    }
    const head = ENCODER.encode({ type: "method", from: header.to, to: target, method, _ha: 1 });
    const body = ENCODER.encode({ args: [value], with_kwargs: false });
    const frame = new Uint8Array(head.length + body.length);
    frame.set(head, 0);
    frame.set(body, head.length);
    this.send(frame);
  }
}

/** A message's chunks as one frame, its section aligned (`joinFrame`); refused unless they are numbered 0 to n-1. */
function join(chunks) {
  const count = chunks.size;
  const absent = [];
  for (let index = 0; index < count && absent.length < 10; index++) if (!chunks.has(index)) absent.push(index);
  if (absent.length || count === 0) throw new DecodeError(count ? `chunks ${JSON.stringify(absent)} are missing` : "the message has no chunk");
  if (count === 1) return chunks.get(0);
  const parts = Array.from({ length: count }, (_, index) => chunks.get(index));
  chunks.clear(); // the parts go with this call: the message holds no second copy once joined
  return joinFrame(parts);
}

function isMap(value) {
  return value !== null && typeof value === "object" && !Array.isArray(value) && !ArrayBuffer.isView(value);
}
