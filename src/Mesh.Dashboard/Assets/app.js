// The dashboard page: polls /api/snapshot every 2 s and draws each page from it. Plain DOM and SVG,
// no library: every value goes in as text (textContent), never as markup. Every state is written as
// a word, so nothing depends on colour; pages are real links, and focus moves to a page's heading.
'use strict';

const POLL_MS = 2000;
const SVG = 'http://www.w3.org/2000/svg';

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v !== undefined && v !== null) node.setAttribute(k, v);
  }
  for (const child of children) node.append(child === null || child === undefined ? '' : child);
  return node;
}

function svg(tag, attrs, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

const num = (v, digits = 1) => (v === null || v === undefined || Number.isNaN(v)) ? '-' : Number(v).toFixed(digits);
const pct = (v) => (v === null || v === undefined) ? '-' : (v * 100).toFixed(1) + '%';

function duration(seconds) {
  if (seconds === null || seconds === undefined) return '-';
  if (seconds < 0) return 'expired';
  const d = Math.floor(seconds / 86400), h = Math.floor(seconds % 86400 / 3600), m = Math.floor(seconds % 3600 / 60);
  return d > 0 ? `${d} d ${h} h` : h > 0 ? `${h} h ${m} min` : `${m} min ${Math.floor(seconds % 60)} s`;
}

function fill(tableId, rows, empty) {
  const body = document.querySelector(`#${tableId} tbody`);
  const columns = document.querySelectorAll(`#${tableId} thead th`).length;
  body.replaceChildren(...(rows.length ? rows : [el('tr', {}, el('td', { colspan: columns }, empty))]));
}

const row = (attrs, ...cells) => el('tr', attrs, ...cells.map((c, i) => i === 0 ? el('th', { scope: 'row' }, c) : el('td', {}, c)));

// --- pages -------------------------------------------------------------------------------------

function showPage(focus) {
  const id = (location.hash || '#topology').slice(1);
  const pages = document.querySelectorAll('[data-page]');
  const known = [...pages].some(p => p.id === id) ? id : 'topology';
  for (const page of pages) page.hidden = page.id !== known;
  for (const link of document.querySelectorAll('nav a')) {
    if (link.getAttribute('href') === '#' + known) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  document.title = `Mesh dashboard — ${document.getElementById(known + '-title').textContent}`;
  if (focus) document.getElementById(known + '-title').focus();
}

window.addEventListener('hashchange', () => showPage(true));

// --- topology ----------------------------------------------------------------------------------

function layers(names, edges) {
  // Longest path from the callers that nobody calls; a cycle cannot push a node past the node count.
  const layer = new Map(names.map(n => [n, 0]));
  for (let round = 0; round < names.length; round++) {
    let changed = false;
    for (const e of edges) {
      if (e.from === e.to) continue;
      const next = Math.min(layer.get(e.from) + 1, names.length);
      if (layer.get(e.to) < next) { layer.set(e.to, next); changed = true; }
    }
    if (!changed) break;
  }
  return layer;
}

function drawTopology(data) {
  const edges = data.edges.filter(e => e.to !== 'unknown' && e.from !== '');
  const names = [...new Set([...data.services.map(s => s.name), ...edges.flatMap(e => [e.from, e.to])])].sort();
  const layer = layers(names, edges);
  const columns = new Map();
  for (const name of names) {
    const l = layer.get(name);
    if (!columns.has(l)) columns.set(l, []);
    columns.get(l).push(name);
  }
  const W = 150, H = 54, GX = 230, GY = 40;
  const pos = new Map();
  for (const [l, column] of columns) column.forEach((name, i) => pos.set(name, { x: 20 + l * (W + GX), y: 20 + i * (H + GY) }));
  const width = 40 + (Math.max(...columns.keys(), 0) + 1) * (W + GX) - GX;
  const height = 40 + Math.max(...[...columns.values()].map(c => c.length), 1) * (H + GY) - GY;

  const root = svg('svg', { viewBox: `0 0 ${width} ${height}`, width, height, 'aria-hidden': 'true' });
  const defs = svg('defs');
  const marker = svg('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: '10', refY: '5', markerWidth: '8', markerHeight: '8', orient: 'auto-start-reverse' });
  marker.append(svg('path', { d: 'M 0 0 L 10 5 L 0 10 z', class: 'arrowhead' }));
  defs.append(marker);
  root.append(defs);

  for (const e of edges) {
    const a = pos.get(e.from), b = pos.get(e.to);
    if (!a || !b || e.from === e.to) continue;
    const failing = e.signals && e.signals.successRate !== null && e.signals.successRate < 0.99;
    const x1 = a.x + W, y1 = a.y + H / 2, x2 = b.x, y2 = b.y + H / 2;
    root.append(svg('line', { x1, y1, x2, y2, class: failing ? 'edge failing' : 'edge', 'marker-end': 'url(#arrow)' }));
    const label = `${num(e.signals && e.signals.rps)} rps` + (e.signals && e.signals.successRate !== null ? ` · ${pct(e.signals.successRate)} ok` : '')
      + (e.signals && e.signals.clientErrorRate ? ` · ${pct(e.signals.clientErrorRate)} 4xx` : '');
    root.append(svg('text', { x: (x1 + x2) / 2, y: (y1 + y2) / 2 - 6, class: 'edge-label', 'text-anchor': 'middle' }, label));
  }
  for (const name of names) {
    const p = pos.get(name);
    const service = data.services.find(s => s.name === name);
    const g = svg('g', { class: 'node', 'data-service': name });
    g.append(svg('rect', { x: p.x, y: p.y, width: W, height: H, rx: 6 }));
    g.append(svg('text', { x: p.x + W / 2, y: p.y + 22, 'text-anchor': 'middle', class: 'node-name' }, name));
    const served = service && service.inbound ? `${num(service.inbound.rps)} rps in` : (service ? `${service.instances.length} instance(s)` : 'not registered');
    g.append(svg('text', { x: p.x + W / 2, y: p.y + 40, 'text-anchor': 'middle', class: 'node-detail' }, served));
    root.append(g);
  }
  document.getElementById('graph').replaceChildren(root);

  fill('edges', edges.map(e => row({ 'data-edge': `${e.from}->${e.to}` }, e.from, e.to,
    num(e.signals && e.signals.rps), pct(e.signals && e.signals.successRate), pct(e.signals && e.signals.clientErrorRate), num(e.signals && e.signals.p50Ms, 2), num(e.signals && e.signals.p99Ms, 2))),
    data.hasWindow ? 'No calls between services in the last window.' : 'Measuring: the first window ends after the next look.');
}

// --- services ----------------------------------------------------------------------------------

function drawServices(data) {
  fill('service-table', data.services.map(s => row({ 'data-service': s.name }, s.name, s.owner || 'none',
    num(s.inbound && s.inbound.rps), pct(s.inbound && s.inbound.successRate), num(s.inbound && s.inbound.p50Ms, 2), num(s.inbound && s.inbound.p99Ms, 2),
    num(s.outbound && s.outbound.rps), `${s.denied} (${num(s.deniedRps)}/s)`, String(s.rateLimited))), 'The registry lists no service.');

  const blocks = data.services.map(s => {
    const table = el('table', { 'data-instances': s.name },
      el('caption', {}, `Endpoints of ${s.name}`),
      el('thead', {}, el('tr', {}, ...['Instance', 'Address', 'Version', 'Zone', 'Weight', 'Health', 'Sidecar'].map(h => el('th', { scope: 'col' }, h)))),
      el('tbody', {}, ...s.instances.map(i => row({ 'data-health': i.health }, i.id, i.address, i.version || '-', i.zone || '-', String(i.weight),
        i.health === 'ejected' ? `ejected (by ${i.ejectedBy.join(', ')})` : i.health, i.sidecar))));
    return table;
  });
  document.getElementById('instances').replaceChildren(...blocks);
}

// --- routes ------------------------------------------------------------------------------------

function limitText(l) {
  if (!l) return 'none';
  const rate = l.kind === 'tokenBucket' ? `${l.requestsPerSecond}/s burst ${l.burst}` : l.kind === 'concurrency' ? `${l.limit} at once` : `${l.limit} per ${l.windowMs} ms`;
  return `${l.kind} ${rate}${l.meshWide ? ', mesh-wide' : ''}`;
}

function drawRoutes(data) {
  fill('route-table', data.routes.map(r => {
    const total = r.backends.reduce((sum, b) => sum + b.weight, 0) || 1;
    const split = r.backends.map(b => `${b.service}${b.version ? ' ' + b.version : ''} ${Math.round(100 * b.weight / total)}%`).join(' / ');
    return row({ 'data-route': r.name }, r.name, r.callers.join(', ') || 'nobody in the window', split, limitText(r.rateLimit),
      num(r.signals && r.signals.rps), pct(r.signals && r.signals.successRate), num(r.signals && r.signals.p50Ms, 2), num(r.signals && r.signals.p99Ms, 2));
  }), 'No route is in force.');
}

// --- rate limits -------------------------------------------------------------------------------

function drawLimits(data) {
  fill('limit-table', data.rateLimits.map(l => row({}, l.service, l.instance, l.direction, l.name, limitText(l),
    l.meshWide ? 'yes' : 'no', l.share === undefined ? '-' : num(l.share, 3), l.effectiveLimit === undefined ? '-' : num(l.effectiveLimit, 2))), 'No rate limit is in force.');
  fill('limited-table', data.rateLimited.map(c => row({ 'data-limited': c.service }, c.service, c.direction, c.limit, c.reason, String(c.total), num(c.rps, 2))),
    'No request was refused by a rate limit.');
  fill('denied-table', data.denied.map(c => row({ 'data-denied': c.service }, c.service, c.rule, String(c.total), num(c.rps, 2))),
    'No request was denied.');
}

// --- certificates and registry -----------------------------------------------------------------

function drawCertificates(data) {
  fill('certificate-table', data.certificates.map(c => row({}, c.service, c.instance, c.identity || '-', c.mode,
    c.certificateExpiresAt || '-', duration(c.certificateExpiresInSeconds), c.certificateRotations === undefined ? '-' : String(c.certificateRotations))),
    'No sidecar presents a certificate (TLS off).');
}

function drawRegistry(data) {
  const status = data.registry.status;
  const facts = [];
  if (data.registry.error) facts.push(['State', `unreachable: ${data.registry.error}`]);
  if (status) {
    facts.push(['Leader', status.leader === null ? 'none (election in progress)' : `member ${status.leader}`],
      ['Term', String(status.term)], ['Answered by', `member ${status.id} (${status.role})`],
      ['Commit index', String(status.commitIndex)], ['Applied index', String(status.appliedIndex)]);
  }
  document.getElementById('cluster').replaceChildren(...facts.flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, v)]));
  fill('member-table', (status ? status.members : []).map(m => row({ 'data-member': m.id }, `member ${m.id}`, m.address, m.clientUrl || '-',
    m.id === status.leader ? 'leader' : 'follower', m.available ? 'yes' : 'no', m.lag === null ? 'unknown' : String(m.lag))), 'No member answered.');
  fill('sidecar-table', data.sidecars.map(s => row({}, s.service, s.instance, s.admin || '-', s.state)), 'No sidecar is registered.');
}

// --- polling -----------------------------------------------------------------------------------

async function poll() {
  const status = document.getElementById('status');
  try {
    const response = await fetch('/api/snapshot', { cache: 'no-store' });
    const data = await response.json();
    if (!response.ok) throw new Error(data.message || `HTTP ${response.status}`);
    drawTopology(data);
    drawServices(data);
    drawRoutes(data);
    drawLimits(data);
    drawCertificates(data);
    drawRegistry(data);
    const at = new Date(data.at).toLocaleTimeString();
    status.textContent = `Updated ${at}; numbers over the last ${num(data.windowSeconds)} s.` + (data.registry.error ? ' Registry unreachable.' : '');
    document.body.dataset.updated = data.at;
  } catch (e) {
    status.textContent = `Not updated: ${e.message}. Trying again.`;
  }
  setTimeout(poll, POLL_MS);
}

showPage(false);
poll();
