import { test } from "node:test";
import * as assert from "node:assert/strict";
import { findServer } from "../src/discovery";

const base = {
  setting: "",
  pathEnv: "/usr/local/bin:/opt/ce/bin",
  extensionDir: "/ext",
  home: "/home/u",
  platform: "linux",
};

test("the setting wins when it points at an executable", () => {
  const found = findServer({ ...base, setting: "~/bin/code-evolver", isExecutable: (f) => f === "/home/u/bin/code-evolver" });
  assert.deepEqual(found, { ok: true, path: "/home/u/bin/code-evolver", source: "setting" });
});

test("a setting that points nowhere is an error naming it, not a silent fallback", () => {
  const found = findServer({ ...base, setting: "/nope/code-evolver", isExecutable: (f) => f === "/opt/ce/bin/code-evolver" });
  assert.equal(found.ok, false);
  assert.match((found as { message: string }).message, /\/nope\/code-evolver/);
});

test("then PATH, in order", () => {
  const found = findServer({ ...base, isExecutable: (f) => f === "/opt/ce/bin/code-evolver" || f === "/ext/bin/code-evolver" });
  assert.deepEqual(found, { ok: true, path: "/opt/ce/bin/code-evolver", source: "PATH" });
});

test("then the binary next to the extension", () => {
  const found = findServer({ ...base, isExecutable: (f) => f === "/ext/bin/code-evolver" });
  assert.deepEqual(found, { ok: true, path: "/ext/bin/code-evolver", source: "extension" });
});

test("nothing found says what to do", () => {
  const found = findServer({ ...base, isExecutable: () => false });
  assert.equal(found.ok, false);
  assert.match((found as { message: string }).message, /codeEvolver\.server\.path/);
  assert.match((found as { message: string }).message, /\/ext\/bin\/code-evolver/);
});
