// Where the code-evolver binary is: the setting, then PATH, then a binary shipped next to the
// extension. Pure (no vscode import) so that it is unit-tested with Node's test runner.

import * as path from "path";

export interface DiscoveryInput {
  /** codeEvolver.server.path ("" when unset); `~` is expanded. */
  setting: string;
  /** The PATH variable. */
  pathEnv: string;
  /** The extension's own folder. */
  extensionDir: string;
  home: string;
  /** Whether a file exists and is executable. */
  isExecutable: (file: string) => boolean;
  platform?: string;
}

export type Discovery =
  | { ok: true; path: string; source: "setting" | "PATH" | "extension" }
  | { ok: false; message: string };

const BINARY = "code-evolver";

export function findServer(input: DiscoveryInput): Discovery {
  const exe = input.platform === "win32" ? `${BINARY}.exe` : BINARY;
  const setting = input.setting.trim();
  if (setting) {
    const expanded = setting.startsWith("~/") ? path.join(input.home, setting.slice(2)) : setting;
    if (input.isExecutable(expanded)) {
      return { ok: true, path: expanded, source: "setting" };
    }
    return {
      ok: false,
      message: `codeEvolver.server.path is "${setting}", but no executable is there. Fix the setting or clear it to use PATH.`,
    };
  }
  const separator = input.platform === "win32" ? ";" : ":";
  for (const dir of input.pathEnv.split(separator).filter((d) => d.length > 0)) {
    const candidate = path.join(dir, exe);
    if (input.isExecutable(candidate)) {
      return { ok: true, path: candidate, source: "PATH" };
    }
  }
  const bundled = path.join(input.extensionDir, "bin", exe);
  if (input.isExecutable(bundled)) {
    return { ok: true, path: bundled, source: "extension" };
  }
  return {
    ok: false,
    message:
      "The code-evolver binary was not found: set codeEvolver.server.path, put code-evolver on PATH " +
      "(cargo build --release; the binary is target/release/code-evolver), or place it at " +
      bundled +
      ".",
  };
}
