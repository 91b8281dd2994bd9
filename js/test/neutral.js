/**
 * Compare a decoded JavaScript value with a conformance case's expectation in the neutral
 * JSON form (conformance/README.md). Returns null when they match, else where and how not.
 */
import { Table, Vector } from "apache-arrow";
import { Decimal, NA, NDArray, Tuple } from "../src/index.js";
import { ORIGINS } from "../src/families/arrow.js";
import { neutralValues, pyarrowType } from "./arrow_neutral.js";

export function mismatch(expected, actual, path = "$") {
  if (expected === null || typeof expected !== "object") {
    if (typeof expected === "number") return sameNumber(expected, actual) ? null : `${path}: expected ${expected}, got ${show(actual)}`;
    return expected === actual ? null : `${path}: expected ${JSON.stringify(expected)}, got ${show(actual)}`;
  }
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual) || actual instanceof Tuple || actual.length !== expected.length) return `${path}: expected an array of ${expected.length}, got ${show(actual)}`;
    for (let i = 0; i < expected.length; i++) {
      const found = mismatch(expected[i], actual[i], `${path}[${i}]`);
      if (found) return found;
    }
    return null;
  }
  const keys = Object.keys(expected);
  if (keys.length === 1 && keys[0].startsWith("$")) return tagged(keys[0], expected[keys[0]], actual, path);
  if (actual === null || typeof actual !== "object" || Array.isArray(actual)) return `${path}: expected a map, got ${show(actual)}`;
  const actualKeys = Object.keys(actual);
  if (JSON.stringify(actualKeys) !== JSON.stringify(keys)) return `${path}: expected keys ${JSON.stringify(keys)}, got ${JSON.stringify(actualKeys)}`;
  for (const key of keys) {
    const found = mismatch(expected[key], actual[key], `${path}.${key}`);
    if (found) return found;
  }
  return null;
}

function tagged(tag, body, actual, path) {
  switch (tag) {
    case "$float":
      return sameNumber(pythonFloat(body), actual) ? null : `${path}: expected float ${body}, got ${show(actual)}`;
    case "$int":
      return (typeof actual === "bigint" ? actual === BigInt(body) : actual === Number(body)) ? null : `${path}: expected int ${body}, got ${show(actual)}`;
    case "$bytes":
      return actual instanceof Uint8Array && Buffer.from(actual).equals(Buffer.from(body, "base64")) ? null : `${path}: expected bytes, got ${show(actual)}`;
    case "$ndarray":
    case "$scalar":
      return ndarray(tag === "$scalar" ? { ...body, shape: [], order: "C" } : body, actual, path);
    case "$decimal":
      return actual?.$decimal === body || (actual instanceof Decimal && actual.text === body) ? null : `${path}: expected decimal ${body}, got ${show(actual)}`;
    case "$tuple":
      return actual instanceof Tuple ? mismatch(body, [...actual], path) : `${path}: expected a Tuple, got ${show(actual)}`;
    case "$na":
      return actual === NA ? null : `${path}: expected NA, got ${show(actual)}`;
    case "$table":
      return table(body, actual, path);
    case "$array":
      return array(body, actual, path);
    case "$map":
      return map(body, actual, path);
    default:
      throw new Error(`${path}: unknown neutral tag ${tag}`);
  }
}

function table(expected, actual, path) {
  if (!(actual instanceof Table)) return `${path}: expected an apache-arrow Table, got ${show(actual)}`;
  const kind = ORIGINS.get(actual)?.kind;
  if (kind !== expected.kind) return `${path}.kind: expected ${expected.kind}, got ${kind}`;
  const fields = actual.schema.fields.map((f) => ({ name: f.name, type: pyarrowType(f.type, f.metadata), nullable: f.nullable }));
  const found = mismatch(expected.fields, fields, `${path}.fields`);
  if (found) return found;
  const columns = {};
  actual.schema.fields.forEach((field, k) => {
    columns[field.name] = neutralValues(actual.getChildAt(k));
  });
  const metadata = Object.fromEntries([...actual.schema.metadata].filter(([key]) => key !== "pandas"));
  return mismatch(expected.columns, columns, `${path}.columns`) ?? mismatch(expected.schema_metadata ?? {}, metadata, `${path}.schema_metadata`);
}

/** A map with keys a JSON object cannot show: a `Map`, or a plain object when every key is a string. */
function map(pairs, actual, path) {
  const isObject = actual !== null && typeof actual === "object" && Object.getPrototypeOf(actual) === Object.prototype;
  if (!(actual instanceof Map) && !isObject) return `${path}: expected a map, got ${show(actual)}`;
  if (isObject && !pairs.every(([key]) => typeof key === "string")) return `${path}: a map with non-string keys must be a Map, got an object`;
  const entries = actual instanceof Map ? [...actual] : Object.entries(actual);
  if (entries.length !== pairs.length) return `${path}: expected ${pairs.length} entries, got ${entries.length}`;
  for (let i = 0; i < pairs.length; i++) {
    const found = mismatch(pairs[i][0], entries[i][0], `${path}.<key ${i}>`) ?? mismatch(pairs[i][1], entries[i][1], `${path}[${show(entries[i][0])}]`);
    if (found) return found;
  }
  return null;
}

function array(expected, actual, path) {
  if (!(actual instanceof Vector)) return `${path}: expected an apache-arrow Vector, got ${show(actual)}`;
  const type = pyarrowType(actual.type, ORIGINS.get(actual)?.field?.metadata);
  if (type !== expected.type) return `${path}.type: expected ${expected.type}, got ${type}`;
  if (expected.chunks !== undefined) {
    const chunks = actual.data.map((data) => data.length);
    if (JSON.stringify(chunks) !== JSON.stringify(expected.chunks)) return `${path}.chunks: expected ${JSON.stringify(expected.chunks)}, got ${JSON.stringify(chunks)}`;
  }
  return mismatch(expected.values, neutralValues(actual), `${path}.values`);
}

function ndarray(expected, actual, path) {
  if (!(actual instanceof NDArray)) return `${path}: expected an NDArray, got ${show(actual)}`;
  for (const key of ["dtype", "order"]) {
    if (actual[key] !== expected[key]) return `${path}.${key}: expected ${expected[key]}, got ${actual[key]}`;
  }
  if (JSON.stringify(actual.shape) !== JSON.stringify(expected.shape)) return `${path}.shape: expected ${JSON.stringify(expected.shape)}, got ${JSON.stringify(actual.shape)}`;
  if ("values" in expected) return mismatch(expected.values, actual.data, `${path}.data`);
  const bytes = littleEndianBytes(actual);
  return Buffer.from(bytes).equals(Buffer.from(expected.data, "base64")) ? null : `${path}.data: bytes differ`;
}

/** The elements' bytes as the neutral form writes them: little-endian, strings NUL-padded. */
function littleEndianBytes(array) {
  const kind = array.dtype[1];
  const itemsize = Number(array.dtype.slice(2).replace(/\[.*$/, ""));
  if (kind === "U" || kind === "S") {
    const width = kind === "U" ? 4 * itemsize : itemsize;
    const out = new Uint8Array(array.data.length * width);
    const view = new DataView(out.buffer);
    array.data.forEach((element, i) => {
      if (kind === "S") out.set(element, i * width);
      else [...element].forEach((char, k) => view.setUint32(i * width + 4 * k, char.codePointAt(0), true));
    });
    return out;
  }
  return new Uint8Array(array.data.buffer, array.data.byteOffset, array.data.byteLength);
}

/** A float as Python's `repr` writes it. */
function pythonFloat(text) {
  return { nan: NaN, inf: Infinity, "-inf": -Infinity }[text] ?? Number(text);
}

function sameNumber(expected, actual) {
  if (typeof actual === "bigint") return Number.isInteger(expected) && actual === BigInt(expected);
  return typeof actual === "number" && Object.is(expected, actual);
}

function show(value) {
  if (value instanceof NDArray) return `NDArray(${value.dtype}, ${JSON.stringify(value.shape)})`;
  if (typeof value === "bigint") return `${value}n`;
  try {
    return JSON.stringify(value)?.slice(0, 120) ?? String(value);
  } catch {
    return String(value);
  }
}
