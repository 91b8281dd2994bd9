/**
 * `inflater.js`: a frame whose section is compressed, decoded with its inflating done in a
 * worker, is exactly what `decodeMessage` gives in one go, and what that refuses is refused
 * with the same error.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { Encoder } from "@msgpack/msgpack";
import { tableFromArrays } from "apache-arrow";
import { DecodeError, NDArray, decodeMessage, encode, encodeMessage } from "../src/index.js";
import { decodeOffLoop, decodeWithoutInflating } from "../src/rpc/inflater.js";
import { resolveOptions } from "../src/options.js";

const CORPUS = new URL("../../conformance/", import.meta.url);
const cases = JSON.parse(readFileSync(new URL("cases.json", CORPUS), "utf8"));
const OPTIONS = resolveOptions({});
const HEADER = new Encoder().encode({ type: "method", from: "ws/sender", to: "ws/me", method: "svc.m" });

/** A standalone frame (skeleton + section) as the extra of a message. */
function asMessage(standalone) {
  const frame = new Uint8Array(HEADER.length + standalone.length);
  frame.set(HEADER, 0);
  frame.set(standalone, HEADER.length);
  return frame;
}

/** Compressed frames Python writes (zstd, which JS cannot write, and lz4): a DataFrame with strings and categories, an ndarray. */
function pythonFrames() {
  const script = `
import sys, numpy as np, pandas as pd, hypha_arrow
from hypha_arrow.config import Config
df = pd.DataFrame({"x": np.arange(20000) / 8, "s": [f"s{i % 50}" for i in range(20000)], "c": pd.Categorical([["a", "b", "c"][i % 3] for i in range(20000)])})
for algorithm in ("zstd", "lz4"):
    config = Config(compression_algorithm=algorithm)
    for value in (df, np.arange(100000, dtype="<i8").reshape(500, 200)):
        frame = hypha_arrow.encode(value, config=config)
        sys.stdout.write(frame.hex() + "\\n")
`;
  return execFileSync("python3", ["-c", script], { encoding: "utf8", maxBuffer: 1 << 28 }).trim().split("\n").map((hex) => Uint8Array.from(Buffer.from(hex, "hex")));
}

function compressedFrames() {
  const corpus = cases
    .filter((spec) => /lz4|zstd/.test(spec.name) && spec.error === undefined)
    .map((spec) => [spec.name, asMessage(new Uint8Array(readFileSync(new URL(spec.file, CORPUS))))]);
  const js = [
    ["js lz4 ndarray", asMessage(encode(new NDArray(Float64Array.from({ length: 50000 }, (_, i) => i % 17), [50000]), { compression: "lz4" }))],
    ["js lz4 table and strings", encodeMessage({ type: "method", from: "a/b" }, { args: [tableFromArrays({ x: Int32Array.from({ length: 30000 }, (_, i) => i % 9) }), Array.from({ length: 5000 }, (_, i) => `v${i % 10}`)] }, { compression: "lz4" })],
  ];
  const python = pythonFrames().map((frame, i) => [`python ${["zstd", "lz4"][i >> 1]} ${i % 2 ? "ndarray" : "DataFrame"}`, asMessage(frame)]);
  return [...corpus, ...js, ...python];
}

/**
 * Whether two decoded values are the same: same prototypes, own keys and bytes throughout.
 * Functions only have to be functions: apache-arrow's memoized dictionaries carry closures of
 * their own, so two decodings of one frame never hold the same ones.
 */
function same(a, b, path = "$", seen = new Map()) {
  if (typeof a === "function" && typeof b === "function") return null;
  if (a === null || b === null || typeof a !== "object" || typeof b !== "object") return Object.is(a, b) ? null : `${path}: ${String(a)} vs ${String(b)}`;
  if (seen.get(a) === b) return null;
  seen.set(a, b);
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return `${path}: ${a.constructor?.name} vs ${b.constructor?.name}`;
  if (ArrayBuffer.isView(a)) {
    const bytes = (view) => new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
    return a.byteLength === b.byteLength && Buffer.compare(bytes(a), bytes(b)) === 0 ? null : `${path}: different bytes`;
  }
  if (a instanceof Map) return same([...a], [...b], `${path}<Map>`, seen);
  const keys = Reflect.ownKeys(a);
  if (keys.map(String).join() !== Reflect.ownKeys(b).map(String).join()) return `${path}: keys ${keys.map(String)} vs ${Reflect.ownKeys(b).map(String)}`;
  for (const key of keys) {
    const found = same(a[key], b[key], `${path}.${String(key)}`, seen);
    if (found) return found;
  }
  return null;
}

test("the comparison tells decodings of different frames apart", () => {
  const frame = (k) => asMessage(encode(new NDArray(Float64Array.from({ length: 50000 }, (_, i) => i % k), [50000]), { compression: "lz4" }));
  assert.equal(same(decodeMessage(frame(3), OPTIONS), decodeMessage(frame(3), OPTIONS)), null);
  assert.notEqual(same(decodeMessage(frame(3), OPTIONS), decodeMessage(frame(4), OPTIONS)), null);
});

test("a compressed frame decoded with a worker's inflating is the frame decoded in one go", async () => {
  const frames = compressedFrames();
  assert.ok(frames.length >= 9, `${frames.length} frames`);
  for (const [name, frame] of frames) {
    const inline = decodeMessage(frame, OPTIONS);
    assert.equal(decodeWithoutInflating(frame, OPTIONS), null, `${name}: it inflates, so not here`);
    const offLoop = await decodeOffLoop(frame.slice(), OPTIONS);
    assert.equal(same(offLoop, inline), null, name);
  }
});

test("an uncompressed frame decodes without the worker", () => {
  const frame = asMessage(encode(new NDArray(Float64Array.from({ length: 5000 }, (_, i) => i), [5000])));
  assert.equal(same(decodeWithoutInflating(frame, OPTIONS), decodeMessage(frame, OPTIONS)), null);
});

test("what decoding in one go refuses, the worker refuses with the same error", async () => {
  const good = asMessage(encode(new NDArray(Float64Array.from({ length: 50000 }, (_, i) => i % 17), [50000]), { compression: "lz4" }));
  const refused = [];
  const bomb = cases.find((spec) => spec.name === "decompression_bomb");
  refused.push(["corpus bomb", asMessage(new Uint8Array(readFileSync(new URL(bomb.file, CORPUS)))), OPTIONS]);
  refused.push(["over maxDecompressedBytes", good, resolveOptions({ maxDecompressedBytes: 100_000 })]);
  // a byte of every compressed block flipped: the codec's own checks refuse it, while inflating
  for (const at of [good.length - 200, good.length - 600, good.length - 1500]) {
    const mutated = good.slice();
    mutated[at] ^= 0xff;
    refused.push([`byte ${at} flipped`, mutated, OPTIONS]);
  }
  let checked = 0;
  for (const [name, frame, options] of refused) {
    let inlineError;
    try {
      decodeMessage(frame, options);
    } catch (error) {
      inlineError = error;
    }
    if (inlineError === undefined) continue; // a flipped byte the format does not notice
    assert.ok(inlineError instanceof DecodeError, `${name}: ${inlineError}`);
    await assert.rejects(decodeOffLoop(frame.slice(), options), (error) => error instanceof DecodeError && error.message === inlineError.message, name);
    checked++;
  }
  assert.ok(checked >= 3, `${checked} refusals compared`);
});

test("frames inflating at once in both workers each come back as their own", async () => {
  const frames = [3, 5, 7, 11].map((k) => asMessage(encode(new NDArray(Float64Array.from({ length: 40000 }, (_, i) => i % k), [40000]), { compression: "lz4" })));
  const decoded = await Promise.all(frames.map((frame) => decodeOffLoop(frame.slice(), OPTIONS)));
  decoded.forEach((message, index) => assert.equal(same(message, decodeMessage(frames[index], OPTIONS)), null));
});
