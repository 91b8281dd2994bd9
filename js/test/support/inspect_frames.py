"""Print Python's `hypha_arrow.inspect` report of each frame file named on the command line, as
JSON a JavaScript test can compare exactly: floats that JSON cannot hold and integers beyond
2^53 become tagged strings ({"$float": "nan"}, {"$int": "digits"}); a refused frame is
{"error": ...}.

pandas' extension types are registered first: pyarrow names them (`extension<pandas.period<...>>`)
only once pandas has registered them (lazily, on its first Arrow conversion), and shows their
storage type before, so Python's own report depends on what the process did earlier."""

import json
import math
import sys

import pandas.core.arrays.arrow.extension_types  # noqa: F401  (registers pandas.period and pandas.interval)

import hypha_arrow


def neutral(value):
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return value if abs(value) < 2**53 else {"$int": str(value)}
    if isinstance(value, float):
        return value if math.isfinite(value) else {"$float": repr(value)}
    if isinstance(value, dict):
        return {key: neutral(item) for key, item in value.items()}
    if isinstance(value, list):
        return [neutral(item) for item in value]
    raise TypeError(f"unexpected {type(value).__name__} in a report")


reports = {}
for path in sys.argv[1:]:
    try:
        reports[path] = neutral(hypha_arrow.inspect(open(path, "rb").read()))
    except hypha_arrow.DecodeError as error:
        reports[path] = {"error": str(error)}
print(json.dumps(reports))
