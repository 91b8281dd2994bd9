/** `list` columns (4.4): homogeneous Python lists as JavaScript arrays; dictionaries decoded; array columns as arrays of `NDArray`s. */
import { Type } from "apache-arrow";
import { DecodeError } from "../errors.js";
import { decodeArrays } from "./array_column.js";

const SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const ACCEPTED = new Set([Type.Bool, Type.Int, Type.Float, Type.Utf8, Type.LargeUtf8, Type.Binary, Type.LargeBinary, Type.Dictionary]);

/**
 * The lists decoded from a `double` column: JavaScript numbers cannot say 0.0 from 0, so these
 * are remembered to go back as doubles (as a Table remembers its DataFrame).
 */
export const FLOAT_LISTS = new WeakSet();

export function decodeList(column) {
  if (column.meta.dtype !== undefined) return decodeArrays(column.values, column.meta);
  const values = column.values;
  const type = values.type;
  if (!ACCEPTED.has(type.typeId)) throw new DecodeError(`a list cannot be held by Arrow type ${type}`);
  if (type.typeId === Type.Int && String(type) !== "Int64") throw new DecodeError(`a list of ints must be int64, got ${type}`);
  if (type.typeId === Type.Float && String(type) !== "Float64") throw new DecodeError(`a list of floats must be double, got ${type}`);
  const items = new Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const item = values.get(i);
    items[i] = typeof item === "bigint" && item >= -SAFE && item <= SAFE ? Number(item) : item;
  }
  if (type.typeId === Type.Float) FLOAT_LISTS.add(items);
  return items;
}
