// The "Show Report" page: the last job's stages and figures, with a small SVG chart of the
// optimization iterations (per-call time of the baseline and each candidate). Pure: unit-tested.

export interface Iteration {
  index: number;
  accepted: boolean;
  reason: string;
  comparison?: { baseline_ns: number; candidate_ns: number } | null;
}

export interface Report {
  node_id?: string;
  task?: string;
  markdown?: string;
  optimization?: { original_ns: number; final_ns: number; score: number; iterations: Iteration[]; skipped?: string | null };
  [key: string]: unknown;
}

function escape(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

function formatNs(ns: number): string {
  if (ns >= 1e6) return `${(ns / 1e6).toFixed(1)} ms`;
  if (ns >= 1e3) return `${(ns / 1e3).toFixed(1)} µs`;
  return `${ns.toFixed(0)} ns`;
}

/** Bars: the original per-call time, then each iteration's candidate (green when kept). */
export function optimizationChart(report: Report): string {
  const o = report.optimization;
  if (!o || o.skipped || !o.iterations || o.iterations.length === 0 || !(o.original_ns > 0)) {
    return "";
  }
  const bars: { label: string; ns: number; kept: boolean }[] = [{ label: "original", ns: o.original_ns, kept: true }];
  for (const it of o.iterations) {
    if (it.comparison && it.comparison.candidate_ns > 0) {
      bars.push({ label: `#${it.index}`, ns: it.comparison.candidate_ns, kept: it.accepted });
    }
  }
  const max = Math.max(...bars.map((b) => b.ns));
  const width = 60 * bars.length + 20;
  const height = 160;
  const parts = bars.map((b, i) => {
    const h = Math.max(2, Math.round((b.ns / max) * 110));
    const x = 20 + i * 60;
    const y = 130 - h;
    const color = i === 0 ? "#888" : b.kept ? "#3a3" : "#c44";
    return (
      `<rect x="${x}" y="${y}" width="40" height="${h}" fill="${color}"><title>${escape(formatNs(b.ns))}</title></rect>` +
      `<text x="${x + 20}" y="148" font-size="11" text-anchor="middle" fill="currentColor">${escape(b.label)}</text>` +
      `<text x="${x + 20}" y="${y - 4}" font-size="10" text-anchor="middle" fill="currentColor">${escape(formatNs(b.ns))}</text>`
    );
  });
  return `<svg class="chart" role="img" aria-label="per-call time per optimization iteration" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">${parts.join("")}</svg>`;
}

/** Minimal markdown → HTML for the server's report (headings, lists, tables, paragraphs). */
export function markdownToHtml(markdown: string): string {
  const lines = markdown.split("\n");
  const html: string[] = [];
  let table: string[][] | null = null;
  let list = false;
  const flushTable = () => {
    if (!table) return;
    const [head, ...rows] = table.filter((r) => !r.every((c) => /^-+$/.test(c.trim())));
    html.push(
      "<table><thead><tr>" +
        head.map((c) => `<th>${escape(c.trim())}</th>`).join("") +
        "</tr></thead><tbody>" +
        rows.map((r) => "<tr>" + r.map((c) => `<td>${escape(c.trim())}</td>`).join("") + "</tr>").join("") +
        "</tbody></table>",
    );
    table = null;
  };
  for (const line of lines) {
    if (line.startsWith("|")) {
      table = table ?? [];
      table.push(line.replace(/^\||\|$/g, "").split("|"));
      continue;
    }
    flushTable();
    if (line.startsWith("- ")) {
      if (!list) html.push("<ul>");
      list = true;
      html.push(`<li>${escape(line.slice(2))}</li>`);
      continue;
    }
    if (list) {
      html.push("</ul>");
      list = false;
    }
    const heading = /^(#{1,3}) (.*)$/.exec(line);
    if (heading) {
      html.push(`<h${heading[1].length}>${escape(heading[2])}</h${heading[1].length}>`);
    } else if (line.trim()) {
      html.push(`<p>${escape(line)}</p>`);
    }
  }
  flushTable();
  if (list) html.push("</ul>");
  return html.join("\n");
}

export function reportHtml(report: Report, nonce: string): string {
  const body = report.markdown ? markdownToHtml(report.markdown) : `<pre>${escape(JSON.stringify(report, null, 2))}</pre>`;
  const chart = optimizationChart(report);
  return `<!DOCTYPE html><html><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'nonce-${nonce}';">
<style nonce="${nonce}">body{font-family:var(--vscode-font-family);color:var(--vscode-foreground)}table{border-collapse:collapse}td,th{border:1px solid var(--vscode-panel-border);padding:2px 6px}</style>
<title>Code Evolver report</title></head><body>
${chart ? `<h2>Optimization iterations</h2>${chart}` : ""}
${body}
</body></html>`;
}
