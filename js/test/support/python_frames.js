/**
 * Frames between the unit tests and the Python package, one short `python3 -c` each: Python
 * builds a value and encodes it, or decodes a frame JavaScript wrote and reports on it as JSON.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const PYTHON = process.env.HYPHA_ARROW_PYTHON ?? "python3";
const work = mkdtempSync(join(tmpdir(), "hypha-arrow-js-"));

/** The frame `hypha_arrow.encode(v)` writes, `v` bound by the Python statements `setup`. */
export function pythonFrame(setup) {
  const path = join(work, `py-${process.pid}.bin`);
  const script = `import hypha_arrow, numpy as np, pandas as pd\n${setup}\nopen(${JSON.stringify(path)}, "wb").write(hypha_arrow.encode(v))`;
  execFileSync(PYTHON, ["-c", script], { stdio: ["ignore", "ignore", "inherit"] });
  return new Uint8Array(readFileSync(path));
}

/**
 * Runs `script` in Python with `frame` decoded as `w` (and `FRAME`, its file's path); what the
 * script prints, parsed as JSON.
 */
export function inPython(frame, script) {
  const path = join(work, `js-${process.pid}.bin`);
  writeFileSync(path, frame);
  const prelude = `import json, hypha_arrow, numpy as np, pandas as pd\nFRAME = ${JSON.stringify(path)}\nw = hypha_arrow.decode(open(FRAME, "rb").read())\n`;
  return JSON.parse(execFileSync(PYTHON, ["-c", prelude + script], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] }));
}
