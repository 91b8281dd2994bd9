/**
 * apache-arrow values in the neutral form's terms: pyarrow's spelling of a type, and a
 * column's values with the neutral Arrow-type rules (conformance/README.md, `$table`).
 */
import { Type } from "apache-arrow";
import { pyarrowType } from "../src/arrow_types.js";

export { pyarrowType };

/** A vector's values with the neutral rules: temporal types as integer counts, nulls as null. */
export function neutralValues(vector) {
  const out = new Array(vector.length);
  for (let i = 0; i < vector.length; i++) out[i] = vector.isValid(i) ? valueAt(vector, i) : null;
  return out;
}

function valueAt(vector, i) {
  const type = vector.type;
  switch (type.typeId) {
    case Type.Timestamp:
    case Type.Duration:
    case Type.Date:
    case Type.Time:
      return rawAt(vector, i);
    case Type.Decimal:
      return { $decimal: decimalText(vector.get(i), type.scale) };
    case Type.List:
    case Type.LargeList:
    case Type.FixedSizeList:
      return neutralValues(vector.get(i));
    case Type.Struct: {
      const row = {};
      type.children.forEach((field, k) => {
        const child = vector.getChildAt(k);
        row[field.name] = child.isValid(i) ? valueAt(child, i) : null;
      });
      return row;
    }
    default:
      return vector.get(i);
  }
}

/** The stored integer of a temporal value (apache-arrow's `get` converts some units to ms). */
function rawAt(vector, i) {
  let k = i;
  for (const data of vector.data) {
    if (k < data.length) {
      const values = data.values;
      const stride = values.length / (data.length + data.offset) >= 2 && !(values instanceof BigInt64Array) ? 2 : 1;
      return stride === 2 ? BigInt.asIntN(64, (BigInt(values[2 * (data.offset + k) + 1]) << 32n) | BigInt(values[2 * (data.offset + k)] >>> 0)) : values[data.offset + k];
    }
    k -= data.length;
  }
  throw new RangeError(`index ${i} outside the vector`);
}

/** A decimal's 32-bit little-endian words as Python's `str(Decimal)`. */
function decimalText(words, scale) {
  let value = 0n;
  for (let w = words.length - 1; w >= 0; w--) value = (value << 32n) | BigInt(words[w] >>> 0);
  value = BigInt.asIntN(32 * words.length, value);
  const negative = value < 0n;
  let digits = (negative ? -value : value).toString().padStart(scale + 1, "0");
  if (scale > 0) digits = `${digits.slice(0, -scale)}.${digits.slice(-scale)}`;
  return negative ? `-${digits}` : digits;
}
