/**
 * msgpack.js: map keys JavaScript objects treat specially, and strings msgpack cannot write.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { EncodeError, decode, encode, encodeMessage } from "../src/index.js";
import { inPython, pythonFrame } from "./support/python_frames.js";

test("a map key __proto__ from Python is an own key and leaves the prototype alone", () => {
  const value = decode(pythonFrame("v = {'__proto__': {'polluted': 1}, 'a': 1}"));
  assert.equal(Object.getPrototypeOf(value), Object.prototype);
  assert.deepEqual(Object.keys(value), ["__proto__", "a"]);
  assert.equal(value.polluted, undefined);
  assert.deepEqual(Object.getOwnPropertyDescriptor(value, "__proto__").value, { polluted: 1 });
});

test("a map key __proto__ beside a non-string key stays in the Map, in order", () => {
  const value = decode(pythonFrame("v = {1: 'a', '__proto__': 'b', 'c': 2}"));
  assert.ok(value instanceof Map);
  assert.deepEqual([...value], [[1, "a"], ["__proto__", "b"], ["c", 2]]);
});

test("a string with a lone surrogate is refused, with where it sits", () => {
  const cases = [
    ["a\ud800b", /lone surrogate \(U\+D800 at character 1\)/],
    [{ x: [1, "ok", "\udc00"] }, /U\+DC00 at character 0.*at \['x'\]\[2\]/],
    [{ "\ud800": 1, "\ud801": 2 }, /U\+D800.*at \['\\ud800'\]/],
    [new Map([[1, "a"], ["\ud801", 2]]), /U\+D801.*at \['\\ud801'\]/],
    [{ deep: new Map([[2, { k: "x\udfff" }]]) }, /U\+DFFF at character 1.*at \['deep'\]\[2\]\['k'\]/],
  ];
  for (const [value, message] of cases) assert.throws(() => encode(value), (error) => error instanceof EncodeError && message.test(error.message), String(message));
});

test("a header string with a lone surrogate is refused", () => {
  assert.throws(() => encodeMessage({ type: "method", method: "f\ud800" }, { args: [] }), (error) => error instanceof EncodeError && /header: .*lone surrogate.*at \['method'\]/.test(error.message));
});

test("strings with surrogate pairs arrive in Python exactly", () => {
  const value = { "\u{1f600}": "a\u{1f600}", list: ["\u{10ffff}", "\ud7ff\ue000"] };
  assert.equal(inPython(encode(value), `print(json.dumps(w == {'\\U0001F600': 'a\\U0001F600', 'list': ['\\U0010FFFF', '\\ud7ff\\ue000']}))`), true);
});
