/**
 * The values of kinds.py, built in JavaScript from the same formulas: what a Python value must
 * look like once it arrived here, and the NDArrays JavaScript sends for Python to check.
 */
import { createHash } from "node:crypto";
import { NDArray } from "../../src/index.js";

export const N = 2000;
const i = Array.from({ length: N }, (_, k) => k);
const big = (f) => BigInt64Array.from(i, (k) => f(BigInt(k)));

/** name -> [TypedArray class or Array, dtype, shape, elements in memory order, order] */
export const ARRAYS = {
  f8: [Float64Array, "<f8", [N], Float64Array.from(i, (k) => k / 4)],
  f4: [Float32Array, "<f4", [N], Float32Array.from(i, (k) => k / 4)],
  f2: [Uint16Array, "<f2", [N], Uint16Array.from(i, (k) => float16Bits(k / 8))],
  i1: [Int8Array, "|i1", [N], Int8Array.from(i, (k) => (k % 256) - 128)],
  i2: [Int16Array, "<i2", [N], Int16Array.from(i, (k) => k * 16 - 16000)],
  i4: [Int32Array, "<i4", [N], Int32Array.from(i, (k) => k * 100_000 - 100_000_000)],
  i8: [BigInt64Array, "<i8", [N], big((k) => k * 2n ** 45n - 2n ** 55n)],
  u1: [Uint8Array, "|u1", [N], Uint8Array.from(i, (k) => k % 256)],
  u2: [Uint16Array, "<u2", [N], Uint16Array.from(i, (k) => k * 30)],
  u4: [Uint32Array, "<u4", [N], Uint32Array.from(i, (k) => k * 2_000_000)],
  u8: [BigUint64Array, "<u8", [N], BigUint64Array.from(i, (k) => BigInt(k) * 2n ** 50n + 2n ** 63n)],
  b1: [Uint8Array, "|b1", [N], Uint8Array.from(i, (k) => (k % 3 === 0 ? 1 : 0))],
  M8: [BigInt64Array, "<M8[ns]", [N], big((k) => k * 86_400_000_000_000n + 1_700_000_000_000_000_000n)],
  m8: [BigInt64Array, "<m8[s]", [N], big((k) => k * 3600n - 1000n)],
  U: [Array, "<U5", [N], i.map((k) => `s${k}`)],
  f8_F: [Float64Array, "<f8", [40, 50], Float64Array.from(i, (m) => ((m % 40) * 50 + Math.floor(m / 40)) / 4), "F"],
  i4_small: [Int32Array, "<i4", [6], Int32Array.from([0, 1, 2, 3, 4, 5])],
};

/** The NDArray JavaScript sends for `kind`. */
export function ndarray(kind) {
  const [, dtype, shape, data, order = "C"] = ARRAYS[kind];
  return new NDArray(data, shape, dtype, order);
}

export const ROWS = 3000;
export const LISTS = {
  ints: Array.from({ length: N }, (_, k) => k - 1000),
  floats: i.map((k) => k + 0.5),
  bools: i.map((k) => k % 3 === 0),
  strs: i.map((k) => `w${k}`),
};
export const RECORDS = Array.from({ length: 500 }, (_, k) => ({ id: k, x: k / 4 + 0.125, name: `r${k}` }));

/** The IEEE half-precision bits of a number exactly representable in it. */
function float16Bits(value) {
  if (value === 0) return 0;
  const exponent = Math.floor(Math.log2(value));
  const mantissa = Math.round((value / 2 ** exponent - 1) * 1024);
  return ((exponent + 15) << 10) | mantissa;
}

/** sha256 (hex) of a TypedArray's bytes, or of text. */
export function sha256(data) {
  const hash = createHash("sha256");
  hash.update(typeof data === "string" ? data : new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  return hash.digest("hex");
}
