/** apache-arrow types in pyarrow's terms, so reports and errors read the same in both languages. */
import { Type, UnionMode } from "apache-arrow";

const UNITS = ["s", "ms", "us", "ns"];
const EXTENSION_NAME = "ARROW:extension:name";
const PANDAS_EXTENSIONS = { "pandas.interval": "ArrowIntervalType", "pandas.period": "ArrowPeriodType" };

/** pyarrow's `str(DataType)` for a field's type (its extension name, if any, first). */
export function pyarrowType(type, metadata) {
  const extension = metadata?.get(EXTENSION_NAME);
  if (extension !== undefined) {
    const inner = PANDAS_EXTENSIONS[extension];
    return inner ? `extension<${extension}<${inner}>>` : `extension<${extension}>`;
  }
  const name = String(type);
  switch (type.typeId) {
    case Type.Int:
      return name.toLowerCase();
    case Type.Float:
      return { Float16: "halffloat", Float32: "float", Float64: "double" }[name];
    case Type.Bool:
      return "bool";
    case Type.Utf8:
      return "string";
    case Type.LargeUtf8:
      return "large_string";
    case Type.Binary:
      return "binary";
    case Type.LargeBinary:
      return "large_binary";
    case Type.Utf8View:
      return "string_view";
    case Type.BinaryView:
      return "binary_view";
    case Type.FixedSizeBinary:
      return `fixed_size_binary[${type.byteWidth}]`;
    case Type.Timestamp:
      return `timestamp[${UNITS[type.unit]}${type.timezone ? `, tz=${type.timezone}` : ""}]`;
    case Type.Duration:
      return `duration[${UNITS[type.unit]}]`;
    case Type.Date:
      return type.unit === 0 ? "date32[day]" : "date64[ms]";
    case Type.Decimal:
      return `decimal${type.bitWidth}(${type.precision}, ${type.scale})`;
    case Type.Dictionary:
      return `dictionary<values=${pyarrowType(type.dictionary)}, indices=${pyarrowType(type.indices)}, ordered=${type.isOrdered ? 1 : 0}>`;
    case Type.List:
      return `list<${child(type.children[0])}>`;
    case Type.LargeList:
      return `large_list<${child(type.children[0])}>`;
    case Type.FixedSizeList:
      return `fixed_size_list<${child(type.children[0])}>[${type.listSize}]`;
    case Type.Struct:
      return `struct<${type.children.map(child).join(", ")}>`;
    case Type.Union:
      return `${type.mode === UnionMode.Dense ? "dense" : "sparse"}_union<${type.children.map((f, k) => `${f.name}: ${pyarrowType(f.type, f.metadata)}=${type.typeIds[k]}`).join(", ")}>`;
    case Type.Null:
      return "null";
    default:
      return name;
  }
}


/** A child field as pyarrow spells it inside its parent's type. */
function child(field) {
  return `${field.name ?? ""}: ${pyarrowType(field.type, field.metadata)}${field.nullable ? "" : " not null"}`;
}
