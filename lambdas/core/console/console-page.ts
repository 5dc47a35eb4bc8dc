/**
 * The run console's page and static files. The page carries no data and no
 * secret: its script (served from this API, like the charting library) reads
 * the runs API with the caller's own credentials, and the CSP allows scripts,
 * styles and requests from this origin only — no inline script or style, no
 * CDN, no framing.
 */

/** The console's Content-Security-Policy. */
export const CONSOLE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'";

/** The files the console page loads, by the name in its URL (`/console/<name>`). */
export const CONSOLE_FILES = {
  'console.js': 'text/javascript; charset=utf-8',
  'console.css': 'text/css; charset=utf-8',
  'chart.umd.js': 'text/javascript; charset=utf-8',
} as const;
export type ConsoleFile = keyof typeof CONSOLE_FILES;

/** Reads the console's static files (the package's own, and Chart.js from its npm package). */
export interface ConsoleAssets {
  read(name: ConsoleFile): Promise<string>;
}

export const isConsoleFile = (name: string): name is ConsoleFile => Object.hasOwn(CONSOLE_FILES, name);

/**
 * The console's HTML shell: the runs list, a run's timeline, pending
 * approvals and the charts are drawn by `console.js` into these sections.
 * Paths are relative, so it works under a stage prefix (`/v1/console`).
 */
export function renderConsolePage(): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>Chaperone console</title>
<link rel="stylesheet" href="console/console.css">
<script src="console/chart.umd.js" defer></script>
<script src="console/console.js" defer></script>
</head>
<body>
<header><h1>Chaperone console</h1>
<nav><a href="#runs">Runs</a> <a href="#approvals">Approvals</a> <a href="#charts">Charts</a></nav></header>
<main>
<section id="runs-view" data-view="runs">
<h2>Runs</h2>
<form id="filters" role="search">
<label>Status <select name="status"><option value="">any</option><option>RUNNING</option><option>SUCCEEDED</option><option>STOPPED</option><option>REJECTED</option><option>FAILED</option></select></label>
<label>Workflow <select name="workflow"><option value="">any</option></select></label>
<label>Tenant <select name="tenant"><option value="">any</option></select></label>
<label>Search <input name="q" type="search" placeholder="run id, input, answer…"></label>
</form>
<p id="runs-error" class="error" role="alert" hidden></p>
<table id="runs-table"><thead><tr><th>Run</th><th>Status</th><th>Workflow</th><th>Tenant</th><th>Started</th><th>Duration</th><th>Steps</th><th>Tokens</th><th>Cost</th></tr></thead><tbody></tbody></table>
</section>
<section id="run-view" data-view="run" hidden>
<h2>Run <code id="run-id"></code> <span id="run-status" class="status"></span></h2>
<p id="run-error" class="error" role="alert" hidden></p>
<dl id="run-summary"></dl>
<h3>Budget as it grew</h3>
<table id="budget-table"><thead><tr><th>After</th><th>Steps</th><th>Tokens</th><th>Cost (USD)</th></tr></thead><tbody></tbody></table>
<h3>Timeline</h3>
<ol id="timeline"></ol>
</section>
<section id="approvals-view" data-view="approvals" hidden>
<h2>Pending approvals</h2>
<p id="approvals-error" class="error" role="alert" hidden></p>
<div id="approvals-list"></div>
</section>
<section id="charts-view" data-view="charts" hidden>
<h2>Metrics</h2>
<p id="charts-error" class="error" role="alert" hidden></p>
<p id="charts-summary"></p>
<div class="charts">
<figure><figcaption>Cost per run (USD)</figcaption><canvas id="chart-cost" aria-label="Cost per run distribution"></canvas><p class="pct" id="pct-cost"></p></figure>
<figure><figcaption>Cost per run over time (USD, p50 / p90 / p99)</figcaption><canvas id="chart-cost-time" aria-label="Cost per run percentiles over time"></canvas></figure>
<figure><figcaption>Steps per run</figcaption><canvas id="chart-steps" aria-label="Steps per run distribution"></canvas><p class="pct" id="pct-steps"></p></figure>
<figure><figcaption>Steps per run over time (p50 / p90 / p99)</figcaption><canvas id="chart-steps-time" aria-label="Steps per run percentiles over time"></canvas></figure>
<figure><figcaption>Tool success rate by tool</figcaption><canvas id="chart-tools" aria-label="Tool success rate by tool"></canvas></figure>
<figure><figcaption>Guardrail rejection rate by rule</figcaption><canvas id="chart-rejections" aria-label="Guardrail rejection rate by rule"></canvas></figure>
</div>
</section>
</main>
</body>
</html>`;
}
