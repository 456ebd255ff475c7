import assert from "node:assert/strict";
import { test } from "node:test";

import { {{function}} } from "./{{name}}.js";

test("Berlin to Paris is 877 km", () => {
  assert.ok(Math.abs({{function}}(52.52, 13.405, 48.8566, 2.3522) - 877.46) < 0.01);
});

test("a point is 0 km from itself", () => {
  assert.equal({{function}}(10, 20, 10, 20), 0);
});
