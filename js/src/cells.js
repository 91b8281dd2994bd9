/**
 * Cells (section 4.6): one msgpack value each, with extension types for what msgpack alone
 * would change. In JavaScript: big integers are BigInt, a Python `Decimal` a `Decimal` (its
 * exact text), a tuple a `Tuple` (an Array), pandas `NA` the `NA` object, numpy scalars and
 * arrays `NDArray`s (a scalar with shape `[]`).
 */
import { Decoder, Encoder, ExtensionCodec } from "@msgpack/msgpack";
import { DecodeError, EncodeError } from "./errors.js";
import { FrameEncoder, MsgpackDecoder } from "./msgpack.js";
import { NDArray, SCALARS, asScalar, checkedDtype, isBareTypedArray, ownOrderBytes } from "./ndarray.js";
import { ndarrayFromBytes } from "./stock_forms.js";

const BIG_INT = 1;
const DECIMAL = 2;
const TUPLE = 3;
const NA_CODE = 4;
const NUMPY_SCALAR = 5;
const NUMPY_ARRAY = 6;
const MAX_BIG_INT_DIGITS = 4300;
const MAX_TUPLE_NESTING = 32;
const ASCII = new TextDecoder("ascii");

const KNOWN = [BIG_INT, DECIMAL, TUPLE, NA_CODE, NUMPY_SCALAR, NUMPY_ARRAY];

/** Refuses extension types outside the list (@msgpack/msgpack would hand them over as `ExtData`). */
class StrictCodec extends ExtensionCodec {
  decode(data, type, context) {
    if (!KNOWN.includes(type)) throw new DecodeError(`unknown cell extension type ${type}`);
    return super.decode(data, type, context);
  }
}

/** A Python `Decimal`, kept as its exact text (`"1.10"`, `"NaN"`, `"-0"`). */
export class Decimal {
  constructor(text) {
    this.text = text;
  }

  toString() {
    return this.text;
  }
}

/** A Python tuple: an Array that remembers it was one. */
export class Tuple extends Array {}

/** pandas' `NA`. */
export const NA = Object.freeze({ toString: () => "<NA>" });

/** Unpacks the cells of one column, tuples nested at most 32 deep. */
export class Cells {
  constructor(maxDepth, depth = 0) {
    this.limit = Math.min(maxDepth, MAX_TUPLE_NESTING);
    this.depth = depth;
    const codec = new StrictCodec();
    for (const code of KNOWN) {
      codec.register({ type: code, encode: () => null, decode: (data) => this.extension(code, data) });
    }
    this.decoder = new MsgpackDecoder(codec);
  }

  /** @param {Uint8Array} cell */
  unpack(cell) {
    try {
      return this.decoder.decode(cell);
    } catch (error) {
      if (!(error instanceof DecodeError)) throw error;
      throw new DecodeError(`invalid cell: ${error.reason}`);
    }
  }

  extension(code, data) {
    switch (code) {
      case BIG_INT: {
        const text = ASCII.decode(data);
        if (text.length > MAX_BIG_INT_DIGITS + 1 || !/^-?\d+$/.test(text)) throw new DecodeError("invalid big int cell");
        return BigInt(text);
      }
      case DECIMAL:
        return new Decimal(ASCII.decode(data));
      case TUPLE: {
        if (this.depth >= this.limit) throw new DecodeError(`tuples in a cell nested deeper than ${this.limit} levels`);
        const items = new Cells(this.limit, this.depth + 1).unpack(data);
        if (!Array.isArray(items)) throw new DecodeError("invalid tuple cell");
        return Tuple.from(items);
      }
      case NA_CODE:
        return NA;
      case NUMPY_SCALAR:
        return scalar(this.plain(data));
      case NUMPY_ARRAY:
        return array(this.plain(data));
      default:
        throw new DecodeError(`unknown cell extension type ${code}`);
    }
  }

  plain(data) {
    return new Decoder({ useBigInt64: true }).decode(data);
  }
}

function scalar(form) {
  if (!Array.isArray(form) || form.length !== 2) throw new DecodeError("invalid numpy scalar cell");
  const [dtype, raw] = form;
  if (dtype === "U" && typeof raw === "string") return asScalar(new NDArray([raw], [], `<U${[...raw].length}`));
  if (dtype === "S" && raw instanceof Uint8Array) return asScalar(new NDArray([raw], [], `|S${raw.length}`));
  if (!(raw instanceof Uint8Array)) throw new DecodeError("invalid numpy scalar cell");
  return asScalar(ndarrayFromBytes(raw, dtype, [], "C"));
}

function array(form) {
  if (!Array.isArray(form) || form.length !== 4) throw new DecodeError("invalid numpy array cell");
  const [dtype, shape, order, raw] = form;
  if (!Array.isArray(shape) || !shape.every((n) => Number.isSafeInteger(Number(n)) && n >= 0) || !["C", "F"].includes(order) || !(raw instanceof Uint8Array)) {
    throw new DecodeError("invalid numpy array cell");
  }
  return ndarrayFromBytes(raw, dtype, shape.map(Number), order);
}

const ASCII_BYTES = new TextEncoder();
const PLAIN = new Encoder({ useBigInt64: true });
const NUMERIC_KINDS = /^[<>|=][biufcmM]\d+(\[\w+\])?$/;

/**
 * Packs values into cells, the inverse of `Cells`: msgpack's own types, a `Map` with its keys,
 * and the extension types of section 4.6 for what msgpack alone would change (BigInt beyond 64
 * bits, `Decimal`, `Tuple`, `NA`, `NDArray`s as numpy scalars and arrays). Anything else is
 * refused. `tuples: false` packs a `Tuple` as a plain array, as record rows do (4.5).
 */
export class CellPacker {
  constructor({ tuples = true } = {}) {
    const codec = new ExtensionCodec();
    codec.register({ type: DECIMAL, encode: (value) => (value instanceof Decimal ? ASCII_BYTES.encode(value.text) : null), decode: () => null });
    codec.register({ type: TUPLE, encode: (value) => (tuples && value instanceof Tuple ? this.nested(value) : null), decode: () => null });
    codec.register({ type: NA_CODE, encode: (value) => (value === NA ? new Uint8Array(0) : null), decode: () => null });
    codec.register({ type: NUMPY_SCALAR, encode: (value) => (SCALARS.has(value) ? PLAIN.encode(scalarForm(value)) : null), decode: () => null });
    codec.register({ type: NUMPY_ARRAY, encode: (value) => (value instanceof NDArray ? PLAIN.encode(arrayForm(value)) : isBareTypedArray(value) ? PLAIN.encode(arrayForm(new NDArray(value, [value.length]))) : null), decode: () => null });
    this.encoder = new CellEncoder(codec);
    this.depth = 0;
  }

  /** @returns {Uint8Array} one cell */
  pack(value) {
    try {
      return this.encoder.encode(value);
    } catch (error) {
      if (error instanceof EncodeError) throw error;
      throw new EncodeError(`not a cell value: ${error.message}`);
    }
  }

  /** A tuple's payload: its items packed as one array of cells, tuples nested at most 32 deep. */
  nested(tuple) {
    if (this.depth >= MAX_TUPLE_NESTING) throw new EncodeError(`tuples nested deeper than ${MAX_TUPLE_NESTING} levels in one cell`);
    this.depth++;
    try {
      return new CellEncoder(this.encoder.extensionCodec).encode(Array.from(tuple));
    } finally {
      this.depth--;
    }
  }
}

/** msgpack with Maps, big integers as extension 1, and only plain objects among other objects. */
class CellEncoder extends FrameEncoder {
  encodeBigIntBeyond64(value) {
    const digits = value.toString();
    if (digits.replace("-", "").length > MAX_BIG_INT_DIGITS) throw new EncodeError(`an integer of more than ${MAX_BIG_INT_DIGITS} digits`);
    this.encodeExtension({ type: BIG_INT, data: ASCII_BYTES.encode(digits) });
  }

  encodeObject(object, depth) {
    // @msgpack/msgpack's codecs always pack a Date as msgpack's timestamp, which is no cell
    if (object instanceof Date) throw new EncodeError("a Date is not a cell value (send its time as a number, or an NDArray of datetime64)");
    super.encodeObject(object, depth);
  }

  encodeMap(object, depth) {
    const proto = Object.getPrototypeOf(object);
    if (!(object instanceof Map) && proto !== Object.prototype && proto !== null) {
      throw new EncodeError(`a ${object.constructor?.name ?? "class instance"} is not a cell value (str, bytes, numbers, bool, null, arrays, maps, BigInt, Decimal, Tuple, NA, NDArray)`);
    }
    super.encodeMap(object, depth);
  }
}

/** numpy's scalar form `[dtype.str, bytes]` (`["U", str]`, `["S", bytes]`). */
function scalarForm(value) {
  const kind = value.dtype[1];
  if (kind === "U" || kind === "S") return [kind, value.data[0]];
  return [checkedNumeric(value).dtype, ownOrderBytes(value.data, value.dtype)];
}

/** numpy's array form `[dtype.str, shape, order, bytes in that order]`. */
function arrayForm(value) {
  return [checkedNumeric(value).dtype, value.shape, value.order, ownOrderBytes(value.data, value.dtype)];
}

function checkedNumeric(value) {
  if (!NUMERIC_KINDS.test(value.dtype)) throw new EncodeError(`an NDArray of dtype ${value.dtype} cannot be a cell (numeric kinds only)`);
  checkedDtype(value);
  return value;
}
