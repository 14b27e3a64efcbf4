/*
 * app.js - edvd's fleet dashboard (served at /dashboard/, no framework).
 *
 * The page holds no data: it reads the Management API of the same origin
 * with the token the user gives (Authorization: Bearer), kept in this
 * tab's sessionStorage only. A fragment "#token=TOKEN" (or
 * "#/tenants/ID&token=TOKEN") is read once, moved to sessionStorage and
 * removed from the address (scripts and tests use it). Views: "#/" the
 * fleet (with the open incidents of the alert policies), "#/tenants/ID"
 * one tenant (with its incidents, open then recent closed); both poll the
 * API every few seconds.
 * Data reaches the DOM through textContent only, never as markup.
 */
'use strict';

(function () {
  const POLL_MS = 5000;
  const OBSERVE_EVERY = 6; /* tenant page: ?observe=true every 6th poll */
  const KEY = 'edv.dashboard.token';
  const EVENTS_KEPT = 50;
  const SAMPLES_KEPT = 120;
  const LARGE_FLEET = 200; /* tenants: past this the list is read less often */
  const LARGE_EVERY = 6; /* ... every 6th refresh (30 s) */
  const LIST_MAX = 10;
  const PHASE_COLOURS = {
    READY: '#1a7f37', FAILED: '#c62828', PENDING: '#e0a100', PROVISIONING: '#b35900',
    UPDATING: '#1f5fbf', DEPROVISIONING: '#7a4fb3', SUSPENDING: '#8a94a6',
    SUSPENDED: '#5b6475', DELETED: '#c4cad4'}; /* items of a card's list (failed tenants, runs) */

  let token = null;
  let view = null; /* the current view: {kind, refresh(), stop()} */
  let timer = null;
  let generation = 0; /* bumped on every view change: late answers drop */

  /* ---- DOM helpers (text only) ---------------------------------------- */

  function el(tag, opts, children) {
    const e = document.createElement(tag);
    if (opts) {
      if (opts.cls) e.className = opts.cls;
      if (opts.text !== undefined && opts.text !== null)
        e.textContent = String(opts.text);
      if (opts.data)
        for (const k of Object.keys(opts.data)) e.dataset[k] = opts.data[k];
      if (opts.id) e.id = opts.id;
      if (opts.href) e.setAttribute('href', opts.href);
      if (opts.title) e.title = opts.title;
    }
    for (const c of children || []) if (c) e.appendChild(c);
    return e;
  }

  function $(id) { return document.getElementById(id); }

  function clear(e) {
    while (e.firstChild) e.removeChild(e.firstChild);
    return e;
  }

  function fmtTime(s) {
    if (!s) return '';
    const d = new Date(s);
    return isNaN(d) ? String(s) : d.toISOString().replace('T', ' ').slice(0, 19) + 'Z';
  }

  function money(v, cur) {
    return typeof v === 'number' ? v.toFixed(2) + ' ' + (cur || 'USD') : '-';
  }

  function num(v, digits) {
    return typeof v === 'number' ? v.toFixed(digits) : '-';
  }

  /* A tenant id as a fragment route: the API's ids are [a-z0-9-], but the
   * route never trusts that. */
  function tenantHref(id) { return '#/tenants/' + encodeURIComponent(id); }

  function dl(pairs) {
    const d = el('dl');
    for (const [k, v] of pairs) {
      d.appendChild(el('dt', {text: k}));
      d.appendChild(el('dd', {text: v === null || v === undefined ? '-' : v}));
    }
    return d;
  }

  function card(title, body, data) {
    return el('div', {cls: 'card', data: data || {}},
              [el('h3', {text: title})].concat(body));
  }

  function table(headers, rows, cls) {
    const thead = el('thead', null, [el('tr', null, headers.map(h => el('th', {text: h})))]);
    const tbody = el('tbody', null, rows);
    return el('table', {cls: cls || ''}, [thead, tbody]);
  }

  /* A card's list: the first LIST_MAX items, then "and N more". */
  function capped(list, make) {
    const items = (list || []).slice(0, LIST_MAX).map(make);
    if ((list || []).length > LIST_MAX)
      items.push(el('li', {cls: 'muted', text: 'and ' + (list.length - LIST_MAX) + ' more'}));
    return items;
  }

  function td(text, cls) { return el('td', {text: text, cls: cls || ''}); }

  /* The incidents of Monitoring's alert policies (GET /api/alerts/incidents):
   * a table, one row per incident (data-incident), its tenant linked;
   * `withState`: a state and an end column too (the tenant page). */
  function incidentsTable(list, withState, none) {
    if (!list.length) return el('p', {cls: 'muted', text: none});
    const rows = list.map(i => el('tr', {data: {incident: i.incident_id, state: i.state}}, [
      el('td', null, [i.tenant ? el('a', {text: i.tenant, href: tenantHref(i.tenant)})
                               : el('span', {cls: 'muted', text: 'fleet'})]),
      td(i.alert || i.policy), td(i.severity, 'severity-' + i.severity),
    ].concat(withState ? [td(i.state, 'state-' + i.state)] : [],
             [td(fmtTime(i.started))], withState ? [td(fmtTime(i.ended))] : [],
             [td(i.summary)])));
    return table(['tenant', 'alert', 'severity'].concat(
      withState ? ['state'] : [], ['since'], withState ? ['ended'] : [], ['summary']),
                 rows, 'incidents');
  }

  /* ---- token ------------------------------------------------------------ */

  /* "#token=T" or "#/tenants/ID&token=T": returns the route part and
   * stores the token; the address loses the token. */
  function takeFragmentToken() {
    const h = location.hash.replace(/^#/, '');
    if (h.indexOf('token=') < 0) return;
    const parts = h.split('&');
    let route = '';
    for (const p of parts) {
      if (p.startsWith('token=')) {
        const t = decodeURIComponent(p.slice(6));
        if (t) sessionStorage.setItem(KEY, t);
      } else if (!route) {
        route = p;
      }
    }
    history.replaceState(null, '', location.pathname + location.search +
                         (route ? '#' + route : ''));
  }

  function showLogin(message) {
    stopView();
    token = null;
    sessionStorage.removeItem(KEY);
    clear($('view')).dataset.state = 'login';
    $('view').dataset.view = 'login';
    $('login').hidden = false;
    $('logout').hidden = true;
    $('live').textContent = '';
    $('login-error').textContent = message || '';
    $('token').focus();
  }

  /* ---- the API ---------------------------------------------------------- */

  class ApiError extends Error {}

  async function api(path) {
    const r = await fetch(path, {
      headers: {Authorization: 'Bearer ' + token, Accept: 'application/json'},
      cache: 'no-store', credentials: 'omit', redirect: 'error',
    });
    let doc = null;
    try { doc = await r.json(); } catch (e) { doc = null; }
    if (r.status === 401) {
      showLogin('The token was refused (401): ' +
                (doc && doc.error ? doc.error.message : 'not valid'));
      throw new ApiError('unauthenticated');
    }
    if (!r.ok)
      throw new ApiError(path + ': ' + r.status + ' ' +
                         (doc && doc.error ? doc.error.message : r.statusText));
    return doc;
  }

  /* Every page of a list route (GET /api/tenants: limit 1000 a page). */
  async function allTenants() {
    let out = [], tokenParam = '';
    for (let i = 0; i < 100; i++) {
      const doc = await api('/api/tenants?limit=1000' + tokenParam);
      out = out.concat(doc.tenants || []);
      if (!doc.next_page_token) break;
      tokenParam = '&page_token=' + encodeURIComponent(doc.next_page_token);
    }
    return out;
  }

  /* ---- charts ----------------------------------------------------------- */

  function chartsAvailable() { return typeof window.Chart === 'function'; }

  /* A chart on a new canvas in `box`; when Chart.js was not built in, the
   * box says so and the returned object ignores updates. */
  function makeChart(box, name, config) {
    const canvas = el('canvas', {data: {chart: name}});
    box.appendChild(canvas);
    if (!chartsAvailable()) {
      canvas.hidden = true;
      box.appendChild(el('p', {cls: 'muted charts-missing',
                               text: 'Charts unavailable in this build (edvd was built without Chart.js, Debian package libjs-chart.js).'}));
      return {set() {}, destroy() {}};
    }
    config.options = Object.assign({animation: false, responsive: true,
                                    maintainAspectRatio: false}, config.options || {});
    const chart = new window.Chart(canvas.getContext('2d'), config);
    return {
      /* datasets: arrays (the data of the datasets in place) or, when
       * their number changes, dataset objects that replace them all. */
      set(labels, datasets) {
        chart.data.labels = labels;
        if (datasets.length && !Array.isArray(datasets[0]))
          chart.data.datasets = datasets;
        else
          datasets.forEach((d, i) => {
            if (chart.data.datasets[i]) chart.data.datasets[i].data = d;
          });
        chart.update('none');
      },
      destroy() { chart.destroy(); },
    };
  }

  /* ---- fleet overview --------------------------------------------------- */

  function countBy(list, key) {
    const m = new Map();
    for (const t of list) m.set(t[key], (m.get(t[key]) || 0) + 1);
    return [...m.entries()].sort((a, b) => String(a[0]).localeCompare(String(b[0])));
  }

  function overviewView() {
    const root = clear($('view'));
    const cards = el('div', {cls: 'cards', id: 'cards'});
    const chartBox = el('div', {cls: 'chart-box'});
    const search = el('input', {id: 'filter-text'});
    search.placeholder = 'filter: id or name';
    search.type = 'search';
    const selects = {};
    const filters = el('div', {cls: 'filters'}, [search]);
    for (const k of ['phase', 'tier', 'region']) {
      selects[k] = el('select', {id: 'filter-' + k});
      filters.appendChild(selects[k]);
    }
    const shown = el('span', {cls: 'muted', id: 'shown'});
    filters.appendChild(shown);
    const tbody = el('tbody', {id: 'tenant-rows'});
    const tbl = table(['tenant', 'name', 'phase', 'tier', 'region', 'release',
                       'backup', 'monthly', 'updated'], []);
    tbl.replaceChild(tbody, tbl.tBodies[0]);
    const errors = el('p', {cls: 'error', id: 'view-error'});
    const incidents = el('div', {id: 'incidents'});
    root.append(errors, cards, el('h2', {text: 'Open incidents'}), incidents,
                el('h2', {text: 'Tenants by tier and phase'}), chartBox,
                el('h2', {text: 'Tenants'}), filters, tbl);
    const chart = makeChart(chartBox, 'fleet', {
      type: 'bar',
      data: {labels: [], datasets: []},
      options: {scales: {x: {stacked: true},
                         y: {stacked: true, beginAtZero: true, ticks: {precision: 0}}}},
    });
    let tenants = [], polls = 0;

    function fillSelect(sel, label, values) {
      const keep = sel.value;
      clear(sel).appendChild(el('option', {text: 'any ' + label}));
      sel.options[0].value = '';
      for (const [v, n] of values) {
        const o = el('option', {text: v + ' (' + n + ')'});
        o.value = v;
        sel.appendChild(o);
      }
      sel.value = keep;
      if (sel.value !== keep) sel.value = '';
    }

    function renderRows() {
      const q = search.value.trim().toLowerCase();
      const rows = [];
      for (const t of tenants) {
        if (q && t.id.indexOf(q) < 0 &&
            String(t.display_name).toLowerCase().indexOf(q) < 0) continue;
        if (selects.phase.value && t.phase !== selects.phase.value) continue;
        if (selects.tier.value && t.tier !== selects.tier.value) continue;
        if (selects.region.value && t.region !== selects.region.value) continue;
        const link = el('a', {text: t.id, href: tenantHref(t.id)});
        const bk = t.backup ? (t.backup.stale ? 'stale' : 'ok') : '-';
        rows.push(el('tr', {data: {tenant: t.id}}, [
          el('td', null, [link]), td(t.display_name), td(t.phase, 'phase-' + t.phase),
          td(t.tier), td(t.region), td(t.release), td(bk),
          td(t.monthly_cost_estimate ? money(t.monthly_cost_estimate.total,
                                             t.monthly_cost_estimate.currency) : '-', 'num'),
          td(fmtTime(t.updated)),
        ]));
      }
      clear(tbody).append(...rows);
      shown.textContent = rows.length + ' of ' + tenants.length + ' shown';
    }
    search.addEventListener('input', renderRows);
    for (const k of Object.keys(selects)) selects[k].addEventListener('change', renderRows);

    function renderCards(st, costs, rel) {
      const byPhase = Object.entries(st.tenants.by_phase || {}).filter(e => e[1] > 0);
      const byTier = Object.entries(st.tenants.by_tier || {}).map(
        ([tier, phases]) => [tier, Object.values(phases).reduce((a, b) => a + b, 0)]);
      const rc = st.reconciler || {};
      const failed = capped(st.failed, f => el('li', {data: {failed: f.id}}, [
        el('a', {text: f.id, href: tenantHref(f.id)}), el('span', {text: ': ' + f.error})]));
      const runs = capped(st.runs, r => el('li', null, [
        el('a', {text: r.tenant, href: tenantHref(r.tenant)}), el('span', {text: ' ' + r.direction})]));
      const current = rel.current || 'none';
      clear(cards).append(
        card('Tenants', [el('div', {cls: 'big', text: st.tenants.total}),
                         el('div', {cls: 'muted', text: 'platform ' + st.platform})],
             {card: 'total'}),
        card('By phase', [dl(byPhase)], {card: 'phase'}),
        card('By tier', [dl(byTier)], {card: 'tier'}),
        card('By region', [dl(countBy(tenants, 'region'))], {card: 'region'}),
        card('Health', [dl([['healthy', rc.tenants_healthy], ['unhealthy', rc.tenants_unhealthy],
                            ['failed', (st.failed || []).length],
                            ['degraded alerts', rc.degraded_alerts],
                            ['stale backups', st.backups ? st.backups.stale : null]]),
                        el('ul', null, failed)], {card: 'health'}),
        card('In flight', [dl([['runs', st.runs_in_flight],
                               ['drift unresolved', (rc.drift_unresolved || []).length]]),
                           el('ul', null, runs)], {card: 'runs'}),
        card('Cost this month', [el('div', {cls: 'big', text: money(costs.monthly_total, costs.currency)}),
                                 dl((costs.tiers || []).filter(t => t.tenants > 0).map(
                                   t => [t.tier + ' x' + t.tenants, money(t.monthly_total, costs.currency)])),
                                 el('div', {cls: 'muted', text: costs.basis})], {card: 'cost'}),
        card('Releases', [el('div', {cls: 'big', text: current}),
                          el('div', {cls: 'muted', text: (rel.releases || []).length + ' recorded'}),
                          dl((rel.releases || []).slice(-3).reverse().map(
                            r => [r.version, fmtTime(r.created)]))], {card: 'releases'}),
      );
      const tiers = Object.keys(st.tenants.by_tier || {});
      chart.set(tiers, byPhase.map(([phase]) => ({
        label: phase, backgroundColor: PHASE_COLOURS[phase] || '#667085',
        data: tiers.map(t => (st.tenants.by_tier[t] || {})[phase] || 0)})));
    }

    return {
      kind: 'overview',
      async refresh(gen) {
        /* A large fleet's list (about 750 bytes a tenant) is read again
         * every LARGE_EVERY refreshes; the counts come from the status. */
        const wantList = polls++ % (tenants.length > LARGE_FLEET ? LARGE_EVERY : 1) === 0;
        const [list, st, costs, rel, inc] = await Promise.all([
          wantList ? allTenants() : null, api('/api/infrastructure/status'),
          api('/api/infrastructure/costs'), api('/api/releases'),
          api('/api/alerts/incidents?state=open')]);
        if (gen !== generation) return;
        clear(incidents).append(incidentsTable(inc.incidents || [], false,
                                               'no open incident'));
        if (list) tenants = list;
        fillSelect(selects.phase, 'phase', countBy(tenants, 'phase'));
        fillSelect(selects.tier, 'tier', countBy(tenants, 'tier'));
        fillSelect(selects.region, 'region', countBy(tenants, 'region'));
        renderCards(st, costs, rel);
        renderRows();
      },
      stop() { chart.destroy(); },
    };
  }

  /* ---- one tenant --------------------------------------------------------- */

  function tenantView(id) {
    const root = clear($('view'));
    const enc = encodeURIComponent(id);
    const sections = {};
    const errors = el('p', {cls: 'error', id: 'view-error'});
    const head = el('div', {id: 'tenant-head'});
    root.append(el('p', null, [el('a', {text: '\u2190 fleet', href: '#/'})]), errors, head);
    for (const [key, title] of [['summary', 'Tenant'], ['incidents', 'Incidents'],
                                ['metrics', 'Metrics'],
                                ['steps', 'Steps'], ['resources', 'Resources'],
                                ['backups', 'Backups'], ['events', 'Events (newest first)']]) {
      sections[key] = el('div', {id: 'tenant-' + key});
      if (key === 'metrics') {
        const grid = el('div', {cls: 'grid2'});
        sections.stepChartBox = el('div', {cls: 'chart-box'});
        sections.latChartBox = el('div', {cls: 'chart-box'});
        sections.usageChartBox = el('div', {cls: 'chart-box'});
        sections.respChartBox = el('div', {cls: 'chart-box'});
        sections.utilChartBox = el('div', {cls: 'chart-box'});
        grid.append(sections.usageChartBox, sections.respChartBox,
                    sections.utilChartBox, sections.latChartBox, sections.stepChartBox);
        sections.window = el('select', {id: 'metrics-window'});
        for (const w of ['1h', '24h', '7d', '30d']) sections.window.append(el('option', {text: w}));
        root.append(el('h2', {text: title}),
                    el('p', null, [el('label', {text: 'window '}), sections.window]),
                    sections[key], grid);
      } else {
        root.append(el('h2', {text: title}), sections[key]);
      }
    }
    const stepChart = makeChart(sections.stepChartBox, 'steps', {
      type: 'bar',
      data: {labels: [], datasets: [{label: 'step duration (ms, last run)', data: [],
                                     backgroundColor: '#1f5fbf'}]},
      options: {indexAxis: 'y', scales: {x: {beginAtZero: true},
                                         y: {ticks: {autoSkip: false}}}},
    });
    const latChart = makeChart(sections.latChartBox, 'latency', {
      type: 'line',
      data: {labels: [], datasets: [
        {label: 'probe latency p50 (ms)', data: [], borderColor: '#1f5fbf'},
        {label: 'p95 (ms)', data: [], borderColor: '#b35900'},
        {label: 'availability (%)', data: [], borderColor: '#1a7f37', yAxisID: 'y2'}]},
      options: {scales: {y: {beginAtZero: true},
                         y2: {position: 'right', min: 0, max: 100,
                              grid: {drawOnChartArea: false}}}},
    });
    /* The seed's metrics over the window, as Cloud Monitoring aligned them. */
    const line = (label, color, axis) => ({label, data: [], borderColor: color,
                                           yAxisID: axis || 'y', spanGaps: true});
    const usageChart = makeChart(sections.usageChartBox, 'usage', {
      type: 'line',
      data: {labels: [], datasets: [line('active users', '#1f5fbf'),
                                    line('requests / s', '#1a7f37', 'y2')]},
      options: {scales: {y: {beginAtZero: true},
                         y2: {position: 'right', beginAtZero: true, grid: {drawOnChartArea: false}}}},
    });
    const respChart = makeChart(sections.respChartBox, 'response', {
      type: 'line',
      data: {labels: [], datasets: [line('response p50 (ms)', '#1f5fbf'),
                                    line('p95 (ms)', '#b35900'),
                                    line('5xx (%)', '#c62828', 'y2')]},
      options: {scales: {y: {beginAtZero: true},
                         y2: {position: 'right', min: 0, max: 100, grid: {drawOnChartArea: false}}}},
    });
    const utilChart = makeChart(sections.utilChartBox, 'utilization', {
      type: 'line',
      data: {labels: [], datasets: [line('VM CPU (%)', '#1f5fbf'), line('VM memory (%)', '#6f42c1'),
                                    line('DB CPU (%)', '#b35900')]},
      options: {scales: {y: {min: 0, max: 100}}},
    });
    const samples = [];
    let events = [], after = 0, polls = 0, observed = null;
    sections.window.addEventListener('change', () => refreshNow());

    /* Series on the time axis of the first: values by time, scaled. */
    function onAxis(base, series, scale) {
      const at = new Map(((series || {}).points || []).map(p => [p.t, p.v * (scale || 1)]));
      return base.map(p => at.has(p.t) ? at.get(p.t) : null);
    }
    function axisOf(...series) {
      let best = [];
      for (const x of series) if (x && x.points && x.points.length > best.length) best = x.points;
      return best;
    }
    const label = t => (t || '').slice(5, 16).replace('T', ' ');

    function renderTenant(t) {
      clear(head).append(el('h2', {text: t.display_name}),
                         el('p', {cls: 'mono', text: t.id}));
      const urls = el('span');
      for (const u of t.urls || []) {
        if (/^https:\/\/[A-Za-z0-9.-]+\/?$/.test(u)) {
          urls.append(el('a', {text: u, href: u}), document.createTextNode(' '));
        }
      }
      const d = dl([
        ['phase', t.phase], ['tier', t.tier], ['region', t.region],
        ['release', t.release], ['release observed', t.release_observed],
        ['generation', t.generation], ['run', t.run ? t.run.direction : null],
        ['last error', t.last_error], ['created', fmtTime(t.created)],
        ['updated', fmtTime(t.updated)],
        ['monthly estimate', t.monthly_cost_estimate ?
          money(t.monthly_cost_estimate.total, t.monthly_cost_estimate.currency) : null],
        ['backup health', t.backup ? (t.backup.stale ? 'stale' : 'ok') +
          ' (last ' + fmtTime(t.backup.last_successful) + ')' : 'not checked yet'],
        ['purge after', t.purge_after],
      ]);
      clear(sections.summary).append(card('Spec and state', [d, urls], {card: 'tenant'}));
      const steps = (t.steps || []).map(s => el('tr', {data: {step: s.name}}, [
        td(s.name, 'mono'), td(s.title), td(s.state, 'state-' + s.state),
        td(s.attempt, 'num'), td(fmtTime(s.started)), td(fmtTime(s.finished)),
        td(s.error ? (s.error.message || JSON.stringify(s.error)) : ''),
      ]));
      clear(sections.steps).append(table(['step', 'what', 'state', 'attempt', 'started',
                                          'finished', 'error'], steps, 'steps'));
      const res = Object.entries(t.resources || {}).map(([k, v]) => [
        k, Array.isArray(v) ? v.join(', ') : (v && typeof v === 'object' ? JSON.stringify(v) : v)]);
      const obs = t.observed ? Object.entries(t.observed).map(([k, v]) => [
        'observed ' + k, v ? [v.name, v.state, v.version].filter(Boolean).join(' ') : '-']) : [];
      clear(sections.resources).append(card('Resources', [dl(res.concat(obs))], {card: 'resources'}));
    }

    function renderMetrics(m) {
      const h = m.health || {}, l = m.latency_ms || {};
      clear(sections.metrics).append(el('div', {cls: 'cards'}, [
        card('Availability (' + m.window_s + ' s)', [
          el('div', {cls: 'big', text: typeof h.availability === 'number' ?
            (h.availability * 100).toFixed(1) + ' %' : '-'}),
          dl([['probes', h.points], ['last probe', fmtTime(h.last_probe)],
              ['last up', h.last_up === null || h.last_up === undefined ? '-' :
                (h.last_up ? 'up' : 'down')]])], {card: 'availability'}),
        card('Probe latency', [dl([['p50 ms', num(l.p50, 2)], ['p95 ms', num(l.p95, 2)],
                                   ['last ms', num(l.last, 2)], ['points', l.points]])],
             {card: 'latency'}),
        card('Job in progress', [el('div', {text: m.operation ?
          [m.operation.kind, m.operation.status, m.operation.backup_id].filter(Boolean).join(' ') : 'none'})],
             {card: 'operation'}),
      ]));
      const u = m.utilization || {}, r = m.response_ms || {};
      const seed = (name, x, scale, unit, digits) => [name, x && typeof x.current === 'number' ?
        num(x.current * scale, digits) + unit + ' (max ' + num(x.max * scale, digits) + unit + ')' : '-'];
      sections.metrics.append(el('div', {cls: 'cards'}, [
        card('Usage', [dl([seed('active users', m.active_users, 1, '', 0),
                           seed('requests / s', m.requests_per_s, 1, '', 2),
                           seed('5xx', m.error_ratio, 100, ' %', 2)])], {card: 'usage'}),
        card('Response time', [dl([seed('p50', r.p50, 1, ' ms', 1),
                                   seed('p95', r.p95, 1, ' ms', 1)])], {card: 'response'}),
        card('Utilization', [dl([seed('VM CPU', u.vm_cpu, 100, ' %', 1),
                                 seed('VM memory', u.vm_memory_pct, 1, ' %', 1),
                                 seed('DB CPU', u.db_cpu, 100, ' %', 1),
                                 seed('DB connections', u.db_connections, 1, '', 0)])],
             {card: 'utilization'}),
      ]));
      let axis = axisOf(m.active_users, m.requests_per_s);
      usageChart.set(axis.map(p => label(p.t)), [onAxis(axis, m.active_users),
                                                 onAxis(axis, m.requests_per_s)]);
      axis = axisOf(r.p50, r.p95, m.error_ratio);
      respChart.set(axis.map(p => label(p.t)), [onAxis(axis, r.p50), onAxis(axis, r.p95),
                                                onAxis(axis, m.error_ratio, 100)]);
      axis = axisOf(u.vm_cpu, u.vm_memory_pct, u.db_cpu);
      utilChart.set(axis.map(p => label(p.t)), [onAxis(axis, u.vm_cpu, 100),
                                                onAxis(axis, u.vm_memory_pct),
                                                onAxis(axis, u.db_cpu, 100)]);
      const steps = m.steps || [];
      stepChart.set(steps.map(s => s.name), [steps.map(s => s.duration_ms)]);
      samples.push({t: new Date().toISOString().slice(11, 19), p50: l.p50, p95: l.p95,
                    av: typeof h.availability === 'number' ? h.availability * 100 : null});
      if (samples.length > SAMPLES_KEPT) samples.shift();
      latChart.set(samples.map(s => s.t), [samples.map(s => s.p50), samples.map(s => s.p95),
                                           samples.map(s => s.av)]);
    }

    function renderBackups(b) {
      const rows = (b.backups || []).map(r => el('tr', {data: {backup: r.id}}, [
        td(r.id, 'mono'), td(r.status, 'state-' + r.status), td(r.type),
        td(fmtTime(r.enqueued)), td(fmtTime(r.ended)), td(r.error || ''),
      ]));
      clear(sections.backups).append(
        el('p', {cls: 'muted', text: 'instance ' + b.instance + (b.operation ?
          '; in progress: ' + [b.operation.kind, b.operation.status].filter(Boolean).join(' ') : '')}),
        rows.length ? table(['backup', 'status', 'type', 'enqueued', 'ended', 'error'], rows)
          : el('p', {cls: 'muted', text: 'no backup runs yet'}));
    }

    /* The journal: every new page since the last seen sequence number;
     * the newest EVENTS_KEPT are shown. */
    async function fetchEvents(gen) {
      for (let i = 0; i < 50; i++) {
        const doc = await api('/api/tenants/' + enc + '/events?limit=500' +
                              (after ? '&after=' + after : ''));
        if (gen !== generation) return;
        events = events.concat(doc.events || []).slice(-EVENTS_KEPT);
        if (doc.next_after) after = doc.next_after;
        if (!doc.next_page_token) break;
      }
      const rows = events.slice().reverse().map(e => el('tr', {data: {seq: e.seq}}, [
        td(fmtTime(e.time)), td(e.actor), td(e.event, 'mono'), td(e.step || ''),
        td(e.detail || ''), td(e.error ? (e.error.message || JSON.stringify(e.error)) : ''),
      ]));
      clear(sections.events).append(rows.length ?
        table(['time', 'actor', 'event', 'step', 'detail', 'error'], rows, 'events') :
        el('p', {cls: 'muted', text: 'no events'}));
    }

    return {
      kind: 'tenant',
      async refresh(gen) {
        const observe = polls++ % OBSERVE_EVERY === 0;
        const [t, m, b, inc] = await Promise.all([
          api('/api/tenants/' + enc + (observe ? '?observe=true' : '')),
          api('/api/tenants/' + enc + '/metrics?window=' +
              encodeURIComponent(sections.window.value)).catch(e => ({error: e})),
          api('/api/tenants/' + enc + '/backups').catch(e => ({error: e})),
          api('/api/alerts/incidents?limit=20&tenant=' + enc).catch(e => ({error: e}))]);
        if (gen !== generation) return;
        /* Open ones first, then the recent closed ones. */
        if (inc.error) clear(sections.incidents).append(el('p', {cls: 'muted', text: inc.error.message}));
        else clear(sections.incidents).append(incidentsTable(
          (inc.incidents || []).filter(i => i.state === 'open').concat(
            (inc.incidents || []).filter(i => i.state !== 'open')), true, 'no incident'));
        if (observe) observed = {observed: t.observed, release_observed: t.release_observed};
        else if (observed) Object.assign(t, observed);
        renderTenant(t);
        if (m.error) clear(sections.metrics).append(el('p', {cls: 'muted', text: m.error.message}));
        else renderMetrics(m);
        if (b.error) clear(sections.backups).append(el('p', {cls: 'muted', text: b.error.message}));
        else renderBackups(b);
        await fetchEvents(gen);
      },
      stop() {
        for (const c of [stepChart, latChart, usageChart, respChart, utilChart]) c.destroy();
      },
    };
  }

  /* ---- routing and polling ------------------------------------------------ */

  function stopView() {
    generation++;
    if (timer) clearTimeout(timer);
    timer = null;
    if (view) view.stop();
    view = null;
  }

  /* Poll the current view at once (a changed control), dropping the
   * answers of the poll in flight. */
  function refreshNow() {
    if (!view) return;
    if (timer) clearTimeout(timer);
    timer = null;
    generation++;
    tick(generation);
  }

  async function tick(gen) {
    if (gen !== generation || !view) return;
    if (document.hidden) { /* no polling in a hidden tab */
      timer = setTimeout(() => tick(gen), POLL_MS);
      return;
    }
    const v = $('view');
    try {
      await view.refresh(gen);
      if (gen !== generation) return;
      const err = $('view-error');
      if (err) err.textContent = '';
      v.dataset.state = 'ready';
      $('live').textContent = 'updated ' + new Date().toLocaleTimeString() +
        ' (every ' + POLL_MS / 1000 + ' s)';
    } catch (e) {
      if (gen !== generation) return;
      const err = $('view-error');
      if (err) err.textContent = e.message;
      v.dataset.state = 'error';
    }
    if (gen === generation) timer = setTimeout(() => tick(gen), POLL_MS);
  }

  function route() {
    stopView();
    if (!token) {
      showLogin('');
      return;
    }
    $('login').hidden = true;
    $('logout').hidden = false;
    const m = /^#\/tenants\/([^/&]+)$/.exec(location.hash);
    view = m ? tenantView(decodeURIComponent(m[1])) : overviewView();
    $('view').dataset.view = view.kind;
    $('view').dataset.state = 'loading';
    tick(generation);
  }

  function start() {
    takeFragmentToken();
    token = sessionStorage.getItem(KEY);
    $('login-form').addEventListener('submit', ev => {
      ev.preventDefault();
      const t = $('token').value.trim();
      $('token').value = '';
      if (!t) return;
      sessionStorage.setItem(KEY, t);
      token = t;
      route();
    });
    $('logout').addEventListener('click', () => showLogin('Token forgotten.'));
    window.addEventListener('hashchange', () => { takeFragmentToken(); token = sessionStorage.getItem(KEY); route(); });
    route();
  }

  start();
})();
