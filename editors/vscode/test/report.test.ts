import { test } from "node:test";
import * as assert from "node:assert/strict";
import { markdownToHtml, optimizationChart, reportHtml } from "../src/report";

const report = {
  node_id: "total-1a2b3c",
  markdown: "# total-1a2b3c\n\n- tests: 4/4 pass\n\n| iteration | accepted |\n|---|---|\n| 1 | true |\n",
  optimization: {
    original_ns: 2_000_000,
    final_ns: 100,
    score: 20000,
    skipped: null,
    iterations: [
      { index: 1, accepted: true, reason: "faster", comparison: { baseline_ns: 2_000_000, candidate_ns: 100 } },
      { index: 2, accepted: false, reason: "no gain", comparison: { baseline_ns: 100, candidate_ns: 120 } },
    ],
  },
};

test("the chart has a bar for the original and each measured iteration", () => {
  const svg = optimizationChart(report);
  assert.equal((svg.match(/<rect /g) ?? []).length, 3);
  assert.match(svg, /2\.0 ms/);
  assert.match(svg, /#3a3/, "the kept candidate is green");
  assert.match(svg, /#c44/, "the rejected one is red");
});

test("no chart when optimization was skipped", () => {
  assert.equal(optimizationChart({ optimization: { ...report.optimization, skipped: "off" } }), "");
});

test("markdown becomes escaped HTML with tables and lists", () => {
  const html = markdownToHtml("## A <b>\n- x\n| a | b |\n|---|---|\n| 1 | 2 |\n");
  assert.match(html, /<h2>A &lt;b&gt;<\/h2>/);
  assert.match(html, /<li>x<\/li>/);
  assert.match(html, /<th>a<\/th><th>b<\/th>/);
  assert.match(html, /<td>1<\/td><td>2<\/td>/);
  const page = reportHtml(report, "n0nce");
  assert.match(page, /Content-Security-Policy/);
  assert.match(page, /<svg/);
});
