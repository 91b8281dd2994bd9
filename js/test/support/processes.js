/**
 * The processes the end-to-end tests run beside Node: a Python script that prints one JSON line
 * once it is ready (a server and hypha_arrow services, or a stock client), stopped by its PID.
 */
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";

const PYTHON = process.env.HYPHA_ARROW_PYTHON ?? "python3";
const READY_TIMEOUT = 90_000;

/**
 * Start `support/<script>` with `args`; resolves with the process and the JSON it printed.
 * @returns {Promise<{child: import("node:child_process").ChildProcess, info: any}>}
 */
export async function startPython(script, args = []) {
  const child = spawn(PYTHON, [new URL(`./${script}`, import.meta.url).pathname, ...args], { stdio: ["ignore", "pipe", "inherit"] });
  process.once("exit", () => child.kill("SIGTERM")); // a test file that ends without its `after` leaves no server behind
  const info = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${script} did not start within ${READY_TIMEOUT / 1000} s`)), READY_TIMEOUT);
    child.once("exit", (code) => reject(new Error(`${script} exited with ${code} before it was ready`)));
    createInterface({ input: child.stdout }).once("line", (text) => {
      clearTimeout(timer);
      resolve(JSON.parse(text));
    });
  });
  return { child, info };
}

/** Stop a process started here and wait until it is gone. */
export async function stop(child) {
  if (!child || child.exitCode !== null) return;
  const gone = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGTERM");
  await gone;
}
