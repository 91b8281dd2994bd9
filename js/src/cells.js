/**
 * Cells (section 4.6): one msgpack value each, with extension types for what msgpack alone
 * would change. In JavaScript: big integers are BigInt, a Python `Decimal` a `Decimal` (its
 * exact text), a tuple a `Tuple` (an Array), pandas `NA` the `NA` object, numpy scalars and
 * arrays `NDArray`s (a scalar with shape `[]`).
 */
import { Decoder, ExtensionCodec } from "@msgpack/msgpack";
import { DecodeError } from "./errors.js";
import { MsgpackDecoder } from "./msgpack.js";
import { NDArray } from "./ndarray.js";
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
  if (dtype === "U" && typeof raw === "string") return new NDArray([raw], [], `<U${[...raw].length}`);
  if (dtype === "S" && raw instanceof Uint8Array) return new NDArray([raw], [], `|S${raw.length}`);
  if (!(raw instanceof Uint8Array)) throw new DecodeError("invalid numpy scalar cell");
  return ndarrayFromBytes(raw, dtype, [], "C");
}

function array(form) {
  if (!Array.isArray(form) || form.length !== 4) throw new DecodeError("invalid numpy array cell");
  const [dtype, shape, order, raw] = form;
  if (!Array.isArray(shape) || !shape.every((n) => Number.isSafeInteger(Number(n)) && n >= 0) || !["C", "F"].includes(order) || !(raw instanceof Uint8Array)) {
    throw new DecodeError("invalid numpy array cell");
  }
  return ndarrayFromBytes(raw, dtype, shape.map(Number), order);
}
