/**
 * `NDArray` (`ndarray.js`): what numpy would refuse or read back otherwise is refused when the
 * array is made and again when it is sent (its fields may have changed since), with the path.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { EncodeError, NDArray, encode } from "../src/index.js";

const PYTHON = process.env.HYPHA_ARROW_PYTHON ?? "python3";

/** `encode(value)` refused with an EncodeError at `path` whose reason matches `reason`. */
function refused(value, path, reason) {
  assert.throws(() => encode(value), (error) => error instanceof EncodeError && error.path === path && reason.test(error.reason), `${path}: ${reason}`);
}

test("more than numpy's 64 dimensions is refused by the constructor; 64 arrive in Python", () => {
  assert.throws(() => new NDArray(new Float64Array(1), new Array(65).fill(1)), /65 dimensions, numpy allows at most 64/);
  const frame = encode({ a: new NDArray(new Float64Array([7]), new Array(64).fill(1)) });
  const shape = execFileSync(PYTHON, ["-c", "import sys, hypha_arrow; print(hypha_arrow.decode(sys.stdin.buffer.read())['a'].shape)"], { input: frame, encoding: "utf8" });
  assert.equal(shape.trim(), `(${new Array(64).fill(1).join(", ")})`);
});

test("a shape changed after construction is checked when the array is sent", () => {
  for (const [shape, reason] of [[[0.5, 8], /non-negative integers/], [[-1000], /non-negative integers/], [["4"], /non-negative integers/], [new Array(65).fill(1), /at most 64/]]) {
    const array = new NDArray(new Float64Array(4), [4]);
    array.shape = shape;
    refused({ x: [array] }, "value['x'][0]", reason);
  }
  const big = new NDArray(new Float64Array(1000), [1000]);
  big.shape = [10, 10];
  refused({ big }, "value['big']", /needs a Float64Array of 100 elements/);
});

test("zero-size shapes numpy could not allocate are refused; ones it can arrive", () => {
  assert.throws(() => new NDArray(new Float64Array(0), [2 ** 40, 2 ** 40, 0]), /larger than numpy's maximum array size/);
  refused({ z: new NDArray(new Float64Array(0), [2 ** 31, 2 ** 31, 0]) }, "value['z']", /of 8-byte elements is larger than numpy's maximum/);
  const frame = encode(new NDArray(new Uint8Array(0), [2 ** 31, 2 ** 31, 0]));
  const shape = execFileSync(PYTHON, ["-c", "import sys, hypha_arrow; print(hypha_arrow.decode(sys.stdin.buffer.read()).shape)"], { input: frame, encoding: "utf8" });
  assert.equal(shape.trim(), `(${2 ** 31}, ${2 ** 31}, 0)`);
});

test("units only on datetime64 and timedelta64, and only numpy's", () => {
  refused({ t: new NDArray(new Int32Array(2), [2], "<i4[ns]") }, "value['t']", /only to datetime64 and timedelta64/);
  refused({ t: new NDArray(new BigInt64Array(2), [2], "<M8[bogus]") }, "value['t']", /no time unit "bogus"/);
  for (const dtype of ["<M8[ns]", "<m8[10ms]", "<M8[D]", "<m8[us]", "<M8"]) assert.ok(encode(new NDArray(new BigInt64Array(2), [2], dtype)) instanceof Uint8Array, dtype);
});

test("booleans other than 0 and 1, and arrays whose buffer was transferred away, are refused", () => {
  refused({ b: new NDArray(Uint8Array.from([0, 1, 2]), [3], "|b1") }, "value['b']", /bytes other than 0 and 1/);
  refused({ b: new NDArray(new Uint8Array(5000).fill(2), [5000], "|b1") }, "value['b']", /bytes other than 0 and 1/);
  const bare = new Float64Array(1000);
  structuredClone(bare.buffer, { transfer: [bare.buffer] });
  refused({ d: bare }, "value['d']", /detached/);
});
