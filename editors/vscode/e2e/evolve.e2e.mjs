// End to end in a real VS Code (code-server 4.100.3, installed by scripts/install-code-server.sh),
// driven by playwright-core with Debian's chromium: the .vsix is installed, a Python file holding
// `# evolve: add two numbers` is opened, "Code Evolver: Evolve Task" is run from the command
// palette against the scripted model server, and the saved file must hold a function that passes
// the spec's cases. The exit code is the verdict.
//
//   node e2e/evolve.e2e.mjs            (from editors/vscode, after `npm run package`)
// Environment: CE_TEST_BIN (default ../../target/debug/code-evolver), CE_TEST_SCRIPTED (default
// scripted-model-server beside it, from `cargo build -p testkit`), CODE_SERVER,
// CHROMIUM (default /usr/bin/chromium), CODE_EVOLVER_PYTHON (the venv `setup` made).

import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = path.dirname(fileURLToPath(import.meta.url));
const extensionDir = path.resolve(here, "..");
const repo = path.resolve(extensionDir, "../..");
const bin = process.env.CE_TEST_BIN ?? path.join(repo, "target/debug/code-evolver");
// testkit's scripted model server (a test-only binary: `cargo build -p testkit`).
const scriptedServer = process.env.CE_TEST_SCRIPTED ?? path.join(path.dirname(bin), "scripted-model-server");
const tools = path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), ".cache"), "code-evolver-test-tools");
const codeServer = process.env.CODE_SERVER ?? path.join(tools, "code-server/node_modules/.bin/code-server");
const browserPath = process.env.CHROMIUM ?? "/usr/bin/chromium";
const python = process.env.CODE_EVOLVER_PYTHON ?? path.join(os.homedir(), ".local/share/code-evolver/venv/bin/python");
const vsix = path.join(extensionDir, "code-evolver.vsix");

const children = [];
let failed = false;
/** The run's temp dir: removed when the run passes, kept (with its screenshot) when it fails. */
let scratch = null;

function fail(message) {
  console.error(`FAIL: ${message}`);
  failed = true;
}

function cleanup() {
  for (const child of children) {
    try {
      process.kill(-child.pid, "SIGKILL");
    } catch {
      /* already gone */
    }
  }
}

function need(file, what) {
  if (!fs.existsSync(file)) {
    console.error(`FAIL: ${what} is missing: ${file}`);
    process.exit(1);
  }
}

/** Starts a process in its own group; resolves with the first stdout line matching `ready`. */
function start(command, args, options, ready) {
  const child = spawn(command, args, { ...options, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  children.push(child);
  let log = "";
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${command} did not start:\n${log}`)), 60_000);
    const onData = (data) => {
      log += data.toString();
      const match = ready.exec(log);
      if (match) {
        clearTimeout(timer);
        resolve({ child, match, log: () => log });
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.on("exit", (code) => reject(new Error(`${command} exited (${code}):\n${log}`)));
  });
}

const script = {
  chunk_chars: 16,
  models: ["scripted"],
  rules: [
    { stage: "classify", replies: [{ kind: "arithmetic", complexity: "simple", reason: "scripted" }] },
    {
      stage: "plan",
      replies: [
        {
          problem: "Add two numbers.",
          requirements: ["return the sum of a and b"],
          limits: "O(1)",
          plan: ["return a + b"],
          function: { name: "add", parameters: [{ name: "a", type: "int" }, { name: "b", type: "int" }], returns: "int" },
          task_input: { a: 10, b: 20 },
          example_output: 30,
          test_cases: [
            { name: "task", input: { a: 10, b: 20 }, expected: 30, check: "equals" },
            { name: "negative", input: { a: -5, b: 3 }, expected: -2, check: "equals" },
            { name: "zeros", input: { a: 0, b: 0 }, expected: 0, check: "equals" },
          ],
          tools: [],
        },
      ],
    },
    {
      stage: "code",
      // The code stage answers with a plain fenced block, as models do.
      replies: ['Here is the function:\n```python\ndef add(a: int, b: int) -> int:\n    """Return the sum of a and b."""\n    return a + b\n```\n'],
    },
  ],
};

async function main() {
  need(bin, "the code-evolver binary (cargo build)");
  need(scriptedServer, "the scripted model server (cargo build -p testkit)");
  need(codeServer, "code-server (bash scripts/install-code-server.sh)");
  need(browserPath, "chromium (bash scripts/install-code-server.sh)");
  need(vsix, "the extension package (npm run package)");
  need(python, "the Python venv (code-evolver setup)");

  scratch = fs.mkdtempSync(path.join(os.tmpdir(), "code-evolver-vscode-e2e-"));
  const workspace = path.join(scratch, "workspace");
  const userData = path.join(scratch, "user-data");
  const extensions = path.join(scratch, "extensions");
  const data = path.join(scratch, "data");
  // code-server's IPC sockets and the server's temp dirs go here too, not loose in /tmp.
  const tmp = path.join(scratch, "tmp");
  for (const dir of [workspace, path.join(userData, "User"), extensions, data, tmp]) fs.mkdirSync(dir, { recursive: true });

  const scriptFile = path.join(scratch, "script.json");
  fs.writeFileSync(scriptFile, JSON.stringify(script));
  const model = await start(scriptedServer, [scriptFile], {}, /(http:\/\/127\.0\.0\.1:\d+)/);
  const modelUrl = model.match[1];

  fs.writeFileSync(
    path.join(workspace, ".code-evolver.yaml"),
    `backends:\n  ollama: { kind: ollama, url: "${modelUrl}", fallback: null, timeout_s: 30 }\n` +
      `pipeline:\n  analysis: { linters: [] }\n  optimize: { iterations: 0 }\n` +
      `editor:\n  diagnostics: []\nmemory:\n  store: off\n`,
  );
  const file = path.join(workspace, "calc.py");
  fs.writeFileSync(file, "# evolve: add two numbers\n");
  fs.writeFileSync(
    path.join(userData, "User/settings.json"),
    JSON.stringify({
      "codeEvolver.server.path": bin,
      "security.workspace.trust.enabled": false,
      "workbench.startupEditor": "none",
      "workbench.tips.enabled": false,
      "extensions.ignoreRecommendations": true,
      "telemetry.telemetryLevel": "off",
    }),
  );

  const common = ["--user-data-dir", userData, "--extensions-dir", extensions];
  const install = spawnSync(codeServer, [...common, "--install-extension", vsix], { encoding: "utf8" });
  if (install.status !== 0 || !/successfully installed/i.test(install.stdout + install.stderr)) {
    throw new Error(`installing the .vsix failed:\n${install.stdout}\n${install.stderr}`);
  }

  const env = {
    ...process.env,
    CODE_EVOLVER_DATA_DIR: data,
    CODE_EVOLVER_PYTHON: python,
    XDG_CONFIG_HOME: path.join(scratch, "config"),
    TMPDIR: tmp,
  };
  delete env.CODE_EVOLVER_CONFIG;
  const server = await start(
    codeServer,
    [...common, "--auth", "none", "--bind-addr", "127.0.0.1:0", "--disable-telemetry", "--disable-workspace-trust", workspace],
    { env },
    /HTTP server listening on (http:\/\/127\.0\.0\.1:\d+)/,
  );
  const url = `${server.match[1]}/?folder=${encodeURIComponent(workspace)}`;

  const browser = await chromium.launch({ executablePath: browserPath, headless: true, args: ["--no-sandbox", "--disable-gpu"] });
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  try {
    await page.goto(url);
    await page.waitForSelector(".monaco-workbench", { timeout: 120_000 });
    // Open calc.py with Quick Open.
    await page.keyboard.press("Control+P");
    await page.waitForSelector(".quick-input-widget input", { state: "visible", timeout: 30_000 });
    await page.keyboard.type("calc.py");
    await page.waitForSelector('.quick-input-list .monaco-list-row:has-text("calc.py")', { timeout: 30_000 });
    await page.keyboard.press("Enter");
    await page.waitForSelector(".monaco-editor .view-lines", { timeout: 60_000 });
    await page.waitForFunction(() => document.querySelector(".monaco-editor .view-lines")?.textContent?.replace(/\u00a0/g, " ").includes("evolve: add two numbers"), null, {
      timeout: 60_000,
    });
    // The extension activates on Python; its status bar item says when the server is up.
    await page.waitForSelector('.statusbar-item:has-text("Code Evolver")', { timeout: 120_000 });
    await page.click(".monaco-editor .view-lines");
    await page.keyboard.press("Control+Home");
    // The command palette.
    await page.keyboard.press("F1");
    await page.waitForSelector(".quick-input-widget input", { state: "visible", timeout: 30_000 });
    await page.keyboard.type("Code Evolver: Evolve Task");
    await page.waitForSelector('.quick-input-list .monaco-list-row:has-text("Evolve Task")', { timeout: 30_000 });
    await page.keyboard.press("Enter");
    // The function arrives in the editor.
    await page.waitForFunction(() => document.querySelector(".monaco-editor .view-lines")?.textContent?.replace(/\u00a0/g, " ").includes("def add"), null, {
      timeout: 180_000,
    });
    // The command answered at once; the job's end (`codeEvolver/jobDone`) becomes a notification.
    await page.waitForSelector('.notification-toast:has-text("tests pass")', { timeout: 30_000 });
    await page.keyboard.press("Control+S");
    const deadline = Date.now() + 30_000;
    while (!fs.readFileSync(file, "utf8").includes("def add") && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
    }
    const text = fs.readFileSync(file, "utf8");
    if (!/^# evolve: add two numbers\n# evolved: add-[0-9a-f]+ v1 · 4\/4 tests pass/.test(text)) {
      fail(`the file does not hold the evolved block below the comment:\n${text}`);
    }
    const check = spawnSync(
      python,
      ["-c", "import calc; assert calc.add(10, 20) == 30 and calc.add(-5, 3) == -2 and calc.add(0, 0) == 0"],
      { cwd: workspace, encoding: "utf8" },
    );
    if (check.status !== 0) {
      fail(`the evolved function does not pass its cases:\n${check.stderr}\n${text}`);
    }
    if (!failed) console.log("PASS: VS Code (code-server 4.100.3) evolved a tested add() into calc.py from the command palette");
  } catch (e) {
    await page.screenshot({ path: path.join(scratch, "failure.png") }).catch(() => {});
    fail(`${e instanceof Error ? e.message : String(e)} (screenshot: ${path.join(scratch, "failure.png")})\ncode-server log:\n${server.log().slice(-3000)}`);
  } finally {
    await browser.close();
  }
}

main()
  .catch((e) => fail(e instanceof Error ? e.stack ?? e.message : String(e)))
  .finally(() => {
    cleanup();
    if (!failed && scratch) {
      try {
        fs.rmSync(scratch, { recursive: true, force: true, maxRetries: 3 });
      } catch {
        /* a killed child was still writing: the dir is left */
      }
    }
    process.exit(failed ? 1 : 0);
  });
