/**
 * Where the RPC layer's decoding meets the codecs apache-arrow inflates with (`compression.js`,
 * through apache-arrow's `compressionRegistry`, the one seam it offers): each codec is wrapped
 * once so a decode can run in one of three ways, always through the same `decodeMessage`.
 *
 * - inline (no mode set, as the standalone `decode` always runs): compression.js inflates;
 * - `recording` (in the inflating worker): compression.js inflates, and each result is kept;
 * - `replaying` (on the event loop): the worker's results are handed out instead, in order,
 *   and a buffer the worker did not inflate stops the decode with `NeedsInflation`: the frame
 *   goes to the worker rather than inflate here.
 *
 * apache-arrow calls the codec once per compressed buffer, in stream order, synchronously,
 * so the same bytes decoded twice ask for the same buffers in the same order.
 */
import { compressionRegistry, CompressionType } from "apache-arrow";
import "../compression.js"; // registers the codecs wrapped here

/** Thrown by a replaying decode that meets a compressed buffer it has no inflated copy of. */
export class NeedsInflation extends Error {
  constructor() {
    super("a compressed Arrow buffer: inflate it off the event loop");
  }
}

/** @type {null | {record: {input: number, output: Uint8Array}[]} | {replay: {input: number, output: Uint8Array}[], next: number, missing: boolean}} */
let mode = null;

for (const type of [CompressionType.LZ4_FRAME, CompressionType.ZSTD]) {
  const inline = compressionRegistry.get(type);
  compressionRegistry.set(type, { ...inline, decode: (data) => decodeIn(mode, data, inline) });
}

function decodeIn(current, data, inline) {
  if (current === null) return inline.decode(data);
  if (current.record) {
    const output = inline.decode(data);
    current.record.push({ input: data.length, output });
    return output;
  }
  const prepared = current.replay[current.next++];
  if (prepared === undefined) {
    current.missing = true;
    throw new NeedsInflation();
  }
  if (prepared.input !== data.length) throw new Error(`internal: inflated buffer ${current.next - 1} was ${prepared.input} bytes compressed, this one is ${data.length}`);
  return prepared.output;
}

/**
 * `work()` with every buffer it inflates kept; its result and those buffers, in order.
 * @template T
 * @param {() => T} work
 */
export function recording(work) {
  const record = [];
  return { result: within({ record }, work), inflated: record };
}

/**
 * `work()` given the buffers `recording` kept instead of inflating; `NeedsInflation` when it
 * asks for one more (none given: when it meets any compressed buffer).
 * @template T
 * @param {{input: number, output: Uint8Array}[]} inflated
 * @param {() => T} work
 */
export function replaying(inflated, work) {
  const replay = { replay: inflated, next: 0, missing: false };
  try {
    return within(replay, work);
  } catch (error) {
    // apache-arrow's reader rethrows what the codec threw inside its own error
    throw replay.missing ? new NeedsInflation() : error;
  }
}

function within(next, work) {
  const previous = mode;
  mode = next;
  try {
    return work();
  } finally {
    mode = previous;
  }
}
