// The Chaperone run console (served as /console/console.js under a strict CSP:
// no inline script or style, requests to this origin only). It reads the runs
// API with the page's own credentials and writes every value with textContent.
(() => {
  const $ = (sel) => document.querySelector(sel);
  const el = (tag, props = {}, ...children) => {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(props)) {
      if (v === undefined || v === null) continue;
      if (k === 'text') node.textContent = String(v);
      else if (k === 'class') node.className = v;
      else if (k.startsWith('data-') || k === 'href' || k === 'role' || k === 'title')
        node.setAttribute(k, String(v));
      else node[k] = v;
    }
    for (const c of children) if (c !== undefined && c !== null) node.append(c);
    return node;
  };
  const usd = (n) => (typeof n === 'number' ? `$${n.toFixed(4)}` : '—');
  const num = (n) => (typeof n === 'number' ? n.toLocaleString('en-US') : '—');
  const ms = (n) => (typeof n !== 'number' ? '—' : n < 1000 ? `${n} ms` : `${(n / 1000).toFixed(1)} s`);
  const when = (iso) => (iso ? iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '—');
  const json = (v) => JSON.stringify(v, null, 2);

  async function getJson(path) {
    const res = await fetch(path, { headers: { accept: 'application/json' }, credentials: 'same-origin' });
    let body;
    try {
      body = await res.json();
    } catch {
      body = { message: `the API answered ${res.status} without JSON` };
    }
    if (!res.ok) throw new Error(body.message ?? `the API answered ${res.status}`);
    return body;
  }
  const showError = (id, err) => {
    const p = $(id);
    p.textContent = err ? err.message : '';
    p.hidden = !err;
  };

  // ---- routing: #runs?filters, #run/<id>, #approvals, #charts
  let liveTimer;
  // Each navigation gets a number; an answer that arrives after the next navigation is dropped.
  let navigation = 0;
  const stale = (n) => n !== navigation;
  function route() {
    clearTimeout(liveTimer);
    navigation += 1;
    const hash = decodeURIComponent(location.hash.slice(1)) || 'runs';
    const [view, rest] = hash.split(/[/?](.*)/s);
    const name = view === 'run' ? 'run' : ['approvals', 'charts'].includes(view) ? view : 'runs';
    for (const section of document.querySelectorAll('[data-view]'))
      section.hidden = section.dataset.view !== name;
    if (name === 'run') return showRun(rest ?? '');
    if (name === 'approvals') return showApprovals();
    if (name === 'charts') return showCharts();
    return showRuns(view === 'runs' && hash.includes('?') ? hash.slice(hash.indexOf('?') + 1) : undefined);
  }

  // ---- runs list
  const form = $('#filters');
  function fillSelect(select, values) {
    const keep = select.value;
    for (const o of [...select.options].slice(1)) o.remove();
    for (const v of values) select.append(el('option', { text: v, value: v }));
    select.value = values.includes(keep) ? keep : '';
  }
  async function showRuns(rawQuery) {
    const params = rawQuery !== undefined ? new URLSearchParams(rawQuery) : new URLSearchParams();
    if (rawQuery === undefined)
      for (const [k, v] of new FormData(form)) if (typeof v === 'string' && v !== '') params.set(k, v);
    const tbody = $('#runs-table tbody');
    const n = navigation;
    const view = $('#runs-view');
    view.removeAttribute('data-loaded');
    try {
      const data = await getJson(`runs${params.size ? `?${params}` : ''}`);
      if (stale(n)) return;
      showError('#runs-error');
      fillSelect(form.elements.workflow, data.workflows);
      fillSelect(form.elements.tenant, data.tenants);
      tbody.replaceChildren(
        ...data.runs.map((r) =>
          el(
            'tr',
            { 'data-run-id': r.runId, 'data-status': r.status },
            el('td', {}, el('a', { href: `#run/${r.runId}`, text: r.runId })),
            el(
              'td',
              {},
              el('span', {
                class: `status ${r.status}`,
                text: r.stopReason ? `${r.status} (${r.stopReason})` : r.status,
              }),
            ),
            el('td', { text: r.workflow }),
            el('td', { text: r.tenant ?? '—' }),
            el('td', { text: when(r.startedAt) }),
            el('td', { text: ms(r.durationMs) }),
            el('td', { text: num(r.steps) }),
            el('td', { text: num(r.tokens) }),
            el('td', { text: usd(r.costUsd) }),
          ),
        ),
      );
      if (data.runs.length === 0)
        tbody.append(el('tr', {}, el('td', { colSpan: 9, text: 'No runs match.' })));
    } catch (err) {
      if (stale(n)) return;
      tbody.replaceChildren();
      showError('#runs-error', err);
    }
    view.dataset.loaded = params.toString();
  }
  form.addEventListener('input', () => {
    if (location.hash.startsWith('#runs?')) history.replaceState(null, '', '#runs');
    navigation += 1;
    void showRuns();
  });
  form.addEventListener('submit', (e) => e.preventDefault());

  // ---- one run's timeline
  function entry(e, limits, used) {
    const li = el('li', { class: `event ${e.type}`, 'data-type': e.type });
    const head = (title) => el('h4', {}, el('time', { text: when(e.at) }), ' ', title);
    const pre = (label, value) =>
      el(
        'details',
        {},
        el('summary', { text: label }),
        el('pre', { text: typeof value === 'string' ? value : json(value) }),
      );
    switch (e.type) {
      case 'run_started':
        li.append(head(`run started: ${e.workflow}`), pre('input', e.input), pre('limits', e.limits));
        break;
      case 'model_call':
        li.append(
          head(
            `model call ${e.step}#${e.iteration} (${e.model}): ${e.status === 'ok' ? (e.toolsChosen.length ? `calls ${e.toolsChosen.join(', ')}` : 'answers') : `error`}`,
          ),
          el('p', { class: 'model-text', text: e.text ?? e.error ?? '' }),
          el('p', {
            class: 'figures',
            text: `offered: ${e.toolsOffered.join(', ') || 'none'} · tokens in ${num(e.inputTokens)} out ${num(e.outputTokens)} cache ${num(e.cacheReadTokens + e.cacheWriteTokens)} · ${usd(e.costUsd)} · ${ms(e.durationMs)}`,
          }),
          el('p', {
            class: 'budget',
            text: `budget: step ${used.steps}/${limits.maxSteps ?? '?'} · tokens ${num(used.tokens)}/${num(limits.maxTokens)} · ${usd(used.cost)}/${usd(limits.maxCostUsd)}`,
          }),
        );
        break;
      case 'tool_call':
        li.append(
          head(`tool ${e.tool}: ${e.status}${e.fallbackTool ? ` (fallback ${e.fallbackTool})` : ''}`),
          el('p', {
            class: 'figures',
            text: `${e.attempts.length} attempt(s) · ${ms(e.durationMs)} · result ${num(e.resultBytes)} B of ${num(e.originalBytes)} B original${e.trimmed ? ' (trimmed)' : ''}`,
          }),
          pre('arguments', e.args),
          pre('result', e.result),
          ...e.attempts
            .filter((a) => a.error)
            .map((a) => el('p', { class: 'error', text: `attempt ${a.attempt}: ${a.status}: ${a.error}` })),
        );
        break;
      case 'tool_rejected':
        li.append(
          head(`rejected ${e.tool}: ${e.rule}`),
          el('p', { text: e.message }),
          pre('arguments', e.args),
        );
        break;
      case 'budget_refused':
        li.append(
          head(`budget refused: ${e.limit}`),
          pre('figures', { requested: e.requested, ledger: e.ledger }),
        );
        break;
      case 'guardrail':
        li.append(head(`guardrail ${e.rule}`), el('p', { text: e.message }));
        break;
      case 'approval_requested':
        li.dataset.approvalId = e.approvalId;
        li.append(
          head(`approval requested${e.tools.length ? ` for ${e.tools.join(', ')}` : ''}`),
          el('p', {
            class: 'approvers',
            text: `asked: ${e.approvers.join(', ')} (approval ${e.approvalId})`,
          }),
        );
        break;
      case 'approval_decided':
        li.append(
          head(`approval ${e.decision} by ${e.decidedBy}`),
          el('p', {
            class: 'approver',
            'data-approver': e.decidedBy,
            text: `${e.decidedBy} decided ${e.decision} at ${when(e.at)}${e.comment ? `: “${e.comment}”` : ''}`,
          }),
        );
        break;
      case 'step_output':
        li.append(head(`step ${e.step} output`), pre('output', e.output));
        break;
      case 'run_finished':
        li.append(
          head(`run ${e.outcome}${e.reason ? `: ${e.reason}` : ''}`),
          el('p', { text: e.detail ?? '' }),
        );
        break;
      default:
        li.append(head(e.type), pre('event', e));
    }
    return li;
  }
  let settling = 0;
  async function showRun(runId) {
    const n = navigation;
    const view = $('#run-view');
    if (view.dataset.runId !== runId) {
      settling = 0;
      view.removeAttribute('data-run-id');
      $('#timeline').replaceChildren();
    }
    $('#run-id').textContent = runId;
    let run;
    try {
      run = await getJson(`runs/${encodeURIComponent(runId)}`);
      if (stale(n)) return;
      showError('#run-error');
    } catch (err) {
      if (stale(n)) return;
      view.dataset.runId = runId;
      $('#run-status').textContent = '';
      $('#run-summary').replaceChildren();
      $('#timeline').replaceChildren();
      $('#budget-table tbody').replaceChildren();
      return showError('#run-error', err);
    }
    const status = $('#run-status');
    status.textContent = run.status;
    status.className = `status ${run.status}`;
    const dd = (k, v) => [el('dt', { text: k }), el('dd', { text: v })];
    $('#run-summary').replaceChildren(
      ...dd('Workflow', run.workflow),
      ...dd('Started', when(run.createdAt)),
      ...dd('Steps', run.steps ? `${run.steps.used} of ${run.steps.limit}` : '—'),
      ...dd('Tokens', run.tokens ? `${num(run.tokens.used)} of ${num(run.tokens.limit)}` : '—'),
      ...dd('Cost', run.costUsd ? `${usd(run.costUsd.used)} of ${usd(run.costUsd.limit)}` : '—'),
      ...(run.stopReason
        ? dd('Stopped by', `${run.stopReason}${run.stopDetail ? `: ${run.stopDetail}` : ''}`)
        : []),
      ...(run.answer ? dd('Answer', run.answer) : []),
      ...(run.error ? dd('Error', run.error) : []),
    );
    const started = run.trail.find((e) => e.type === 'run_started');
    const limits = started?.limits ?? {};
    const used = { steps: 0, tokens: 0, cost: 0 };
    const rows = [];
    const items = run.trail.map((e) => {
      if (e.type === 'model_call' && e.status === 'ok') {
        used.steps += 1;
        used.tokens += e.inputTokens + e.outputTokens + e.cacheReadTokens + e.cacheWriteTokens;
        used.cost += e.costUsd;
        rows.push(
          el(
            'tr',
            {},
            el('td', { text: `${e.step}#${e.iteration}` }),
            el('td', { text: `${used.steps} / ${limits.maxSteps ?? '?'}` }),
            el('td', { text: `${num(used.tokens)} / ${num(limits.maxTokens)}` }),
            el('td', { text: `${usd(used.cost)} / ${usd(limits.maxCostUsd)}` }),
          ),
        );
      }
      return entry(e, limits, { ...used });
    });
    $('#timeline').replaceChildren(...items);
    $('#budget-table tbody').replaceChildren(...rows);
    await showAsked(run.trail, n);
    if (stale(n)) return;
    view.dataset.runId = runId;
    view.dataset.status = run.status;
    // Live while the run goes on: read it again until it ends (or the view changes). The run's
    // status is closed a moment before its last event lands: a few more reads pick that up.
    const closing = run.status !== 'RUNNING' && !run.trail.some((e) => e.type === 'run_finished');
    settling = closing ? settling + 1 : 0;
    if (run.status === 'RUNNING' || (closing && settling <= 5))
      liveTimer = setTimeout(() => !stale(n) && showRun(runId), 1500);
  }

  // What each approval of a run asked its approvers (the approval record); a decided one is kept.
  const asked = new Map();
  function askedView(a) {
    return el(
      'div',
      { class: 'asked', 'data-status': a.status },
      el('p', { class: 'summary', text: `shown to the approvers: ${a.summary}` }),
      a.reason ? el('blockquote', { text: a.reason }) : undefined,
      ...a.calls.map((c) =>
        el(
          'section',
          { class: 'call' },
          el('h5', { text: `${c.tool} (${c.access})` }),
          el('pre', { text: json(c.args) }),
        ),
      ),
      el('p', {
        class: 'figures',
        text: `${a.status}${a.decidedBy ? ` by ${a.decidedBy} at ${when(a.decidedAt)}` : ''} · expires ${when(a.expiresAt)}`,
      }),
    );
  }
  async function showAsked(trail, n) {
    const ids = trail.filter((e) => e.type === 'approval_requested').map((e) => e.approvalId);
    for (const id of ids) {
      let a = asked.get(id);
      if (!a) {
        try {
          a = (await getJson(`console/approvals?id=${encodeURIComponent(id)}`)).approvals[0];
        } catch (err) {
          a = { error: err };
        }
        if (a && !a.error && a.status !== 'pending') asked.set(id, a);
      }
      if (stale(n)) return;
      const li = document.querySelector(`#timeline li[data-approval-id="${CSS.escape(id)}"]`);
      if (!li || !a) continue;
      li.querySelector('.asked, .asked-error')?.remove();
      li.append(a.error ? el('p', { class: 'error asked-error', text: a.error.message }) : askedView(a));
    }
  }

  // ---- pending approvals, with what each approver is shown
  async function showApprovals() {
    const list = $('#approvals-list');
    try {
      const data = await getJson('console/approvals');
      showError('#approvals-error');
      list.replaceChildren(
        ...data.approvals.map((a) =>
          el(
            'article',
            { class: 'approval', 'data-approval-id': a.approvalId },
            el('h3', {}, `${a.summary} `, el('a', { href: `#run/${a.runId}`, text: `run ${a.runId}` })),
            el('p', {
              text: `${a.workflow} · step ${a.step} · asked ${a.approvers.join(', ')} · expires ${when(a.expiresAt)}`,
            }),
            a.reason ? el('blockquote', { text: a.reason }) : undefined,
            ...a.calls.map((c) =>
              el(
                'section',
                { class: 'call' },
                el('h4', { text: `${c.tool} (${c.access})` }),
                el('pre', { text: json(c.args) }),
              ),
            ),
            el('p', {
              class: 'hint',
              text: 'The approvers decide from the signed link in their email; the console shows what they are asked.',
            }),
          ),
        ),
      );
      if (data.approvals.length === 0) list.append(el('p', { text: 'Nothing waits for a human.' }));
    } catch (err) {
      list.replaceChildren();
      showError('#approvals-error', err);
    }
  }

  // ---- charts of the four seed metrics
  const charts = {};
  function draw(id, config, tableRows) {
    charts[id]?.destroy();
    const canvas = document.getElementById(id);
    const points = config.data.datasets.reduce(
      (n, d) => n + d.data.filter((v) => v !== null && v !== undefined).length,
      0,
    );
    canvas.dataset.points = String(points);
    charts[id] = new window.Chart(canvas, {
      ...config,
      options: { animation: false, responsive: true, maintainAspectRatio: true, ...config.options },
    });
    const table = el(
      'table',
      { class: 'chart-data', 'data-chart': id },
      ...tableRows.map((cells) => el('tr', {}, ...cells.map((c) => el('td', { text: c })))),
    );
    canvas.parentElement.querySelector('table.chart-data')?.remove();
    canvas.parentElement.append(table);
  }
  const binLabel = (b, fmt) => `${fmt(b.from)}–${fmt(b.to)}`;
  async function showCharts() {
    let m;
    try {
      m = await getJson('console/metrics');
      showError('#charts-error');
    } catch (err) {
      return showError('#charts-error', err);
    }
    if (!window.Chart) return showError('#charts-error', new Error('the charting library did not load'));
    $('#charts-summary').textContent =
      `${m.runs} run(s) charted; tool calls, rejections and checks per ${ms(m.bucketMs)}.`;
    const money = (v) => `$${v.toFixed(4)}`;
    const pct = (p, f) =>
      `p50 ${p.p50 === null ? '—' : f(p.p50)} · p90 ${p.p90 === null ? '—' : f(p.p90)} · p99 ${p.p99 === null ? '—' : f(p.p99)}`;
    $('#pct-cost').textContent = pct(m.costPerRun, money);
    $('#pct-steps').textContent = pct(m.stepsPerRun, String);
    draw(
      'chart-cost',
      {
        type: 'bar',
        data: {
          labels: m.costPerRun.histogram.map((b) => binLabel(b, money)),
          datasets: [{ label: 'runs', data: m.costPerRun.histogram.map((b) => b.count) }],
        },
      },
      m.perRun.map((r) => [r.runId, r.status, money(r.costUsd ?? 0)]),
    );
    draw(
      'chart-steps',
      {
        type: 'bar',
        data: {
          labels: m.stepsPerRun.histogram.map((b) => binLabel(b, (v) => v.toFixed(1))),
          datasets: [{ label: 'runs', data: m.stepsPerRun.histogram.map((b) => b.count) }],
        },
      },
      m.perRun.map((r) => [r.runId, r.status, String(r.steps ?? 0)]),
    );
    const labels = m.buckets.map((b) => when(b.start));
    const overTime = (id, key, fmt) =>
      draw(
        id,
        {
          type: 'line',
          data: {
            labels,
            datasets: ['p50', 'p90', 'p99'].map((p) => ({
              label: p,
              data: m.buckets.map((b) => (b.runs ? b[key][p] : null)),
              spanGaps: true,
            })),
          },
          options: { scales: { y: { min: 0 } } },
        },
        m.buckets.filter((b) => b.runs).map((b) => [when(b.start), `${b.runs} run(s)`, pct(b[key], fmt)]),
      );
    overTime('chart-cost-time', 'costPerRun', money);
    overTime('chart-steps-time', 'stepsPerRun', String);
    const tools = Object.keys(m.toolSuccess).sort();
    draw(
      'chart-tools',
      {
        type: 'line',
        data: {
          labels,
          datasets: tools.map((t) => ({
            label: t,
            data: m.buckets.map((b) => (t in b.toolSuccessRate ? b.toolSuccessRate[t] * 100 : null)),
            spanGaps: true,
          })),
        },
        options: { scales: { y: { min: 0, max: 100, title: { display: true, text: '% ok' } } } },
      },
      tools.map((t) => [
        t,
        `${m.toolSuccess[t].ok}/${m.toolSuccess[t].calls}`,
        `${(m.toolSuccess[t].rate * 100).toFixed(0)}%`,
      ]),
    );
    const rules = Object.keys(m.rejections.byRule).sort();
    draw(
      'chart-rejections',
      {
        type: 'bar',
        data: {
          labels,
          datasets: rules.map((r) => ({
            label: r,
            data: m.buckets.map((b) => (b.rejectionRate[r] ?? 0) * 100),
          })),
        },
        options: {
          scales: {
            x: { stacked: true },
            y: { stacked: true, min: 0, title: { display: true, text: '% of checked actions' } },
          },
        },
      },
      [
        ...rules.map((r) => [r, String(m.rejections.byRule[r])]),
        ['checked actions', String(m.rejections.checked)],
        ['rate', `${(m.rejections.rate * 100).toFixed(1)}%`],
      ],
    );
  }

  window.addEventListener('hashchange', route);
  route();
})();
