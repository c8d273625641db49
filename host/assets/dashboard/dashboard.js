// The operator dashboard: a client of the public REST and WebSocket API
// like any other (docs/DASHBOARD.md). The key comes from `#key=...` or the
// form and is kept in sessionStorage for this tab only.
'use strict';

const API = '/api/swim/v1';
const MAX_EVENTS = 100;
// Every channel, plugin-defined ones too (`flight.fast`, ...): the list
// shows all but the positions batches, which redraw the map instead.
const EVENT_CHANNELS = ['*'];

const $ = (id) => document.getElementById(id);
let key = null;
let socket = null;
// The seq of the newest event in the list: history and live meet here, so
// an event is shown once however the two overlap.
let lastSeq = 0;

function keyFromPage() {
  const fragment = new URLSearchParams(location.hash.slice(1)).get('key');
  if (fragment) {
    sessionStorage.setItem('swim-key', fragment);
    history.replaceState(null, '', location.pathname);
  }
  return sessionStorage.getItem('swim-key');
}

function showError(message) {
  $('error').textContent = message;
  $('error').hidden = !message;
}

/** A call of the API with the page's key; `method` and `body` for writes. */
async function api(path, { method = 'GET', body } = {}) {
  const headers = { 'X-API-Key': key };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const response = await fetch(API + path, { method, headers, body: body && JSON.stringify(body) });
  const answer = await response.json().catch(() => ({}));
  if (!response.ok) {
    const error = new Error(answer.message || `${path}: HTTP ${response.status}`);
    error.status = response.status;
    throw error;
  }
  return answer;
}

// ---- the map ----------------------------------------------------------------

const map = L.map('map', { worldCopyJump: true, attributionControl: false, preferCanvas: true }).setView([39, -95], 4);
// The base layers on one canvas of their own: thousands of outline paths
// as SVG elements made panning crawl.
const baseRenderer = L.canvas({ padding: 0.2 });
const LAND = '#1b2733';
const COAST = '#5a7d9c';

/** Decodes a TopoJSON object (quantized, delta-encoded arcs) into GeoJSON. */
function topoFeatures(topo, name) {
  const [sx, sy] = topo.transform.scale;
  const [tx, ty] = topo.transform.translate;
  const arcs = topo.arcs.map((arc) => {
    let x = 0;
    let y = 0;
    return arc.map(([dx, dy]) => [(x += dx) * sx + tx, (y += dy) * sy + ty]);
  });
  const ring = (ids) => ids.flatMap((id, i) => {
    const points = id < 0 ? arcs[~id].slice().reverse() : arcs[id];
    return i ? points.slice(1) : points; // an arc starts where the last ended
  });
  const polygon = (rings) => rings.map(ring);
  return topo.objects[name].geometries.map((g) => ({
    type: 'Feature',
    properties: g.properties || {},
    geometry: g.type === 'Polygon'
      ? { type: 'Polygon', coordinates: polygon(g.arcs) }
      : { type: 'MultiPolygon', coordinates: g.arcs.map(polygon) },
  }));
}

// Land and coastlines, then country borders, then the FIR/ARTCC outlines.
const baseLayers = fetch('/dashboard/assets/countries-50m.json')
  .then((r) => r.json())
  .then((topo) => {
    L.geoJSON(topoFeatures(topo, 'land'), {
      renderer: baseRenderer, interactive: false,
      style: { color: COAST, weight: 1, fillColor: LAND, fillOpacity: 1 },
    }).addTo(map);
    L.geoJSON(topoFeatures(topo, 'countries'), {
      renderer: baseRenderer, interactive: false,
      style: { color: '#34495c', weight: 0.6, fill: false },
    }).addTo(map);
  })
  .then(() => fetch('/dashboard/assets/boundaries.geojson'))
  .then((r) => r.json())
  .then((geo) => L.geoJSON(geo, {
    renderer: baseRenderer, interactive: false,
    style: (f) => ({ color: f.properties.oceanic ? '#1f3850' : '#2c5077', weight: 0.7, fill: false, dashArray: f.properties.oceanic ? '4 4' : null }),
  }).addTo(map))
  .then(() => { map.getContainer().dataset.base = 'drawn'; })
  .catch(report);

/** Airports for labels at closer zooms: `icao,lat,lon,...` per line. */
let airports = [];
fetch('/dashboard/assets/airports.csv')
  .then((r) => r.text())
  .then((text) => {
    airports = text.trim().split('\n').slice(1).map((line) => {
      const [icao, lat, lon] = line.split(',');
      return { icao, lat: Number(lat), lon: Number(lon) };
    });
  });

// Below this zoom, crowded aircraft are drawn as one disc with their count.
const SEPARATE_AT_ZOOM = 9;
// The side of a clustering cell, px, and the aircraft a cell needs to be a disc.
const CELL_PX = 44;
const CLUSTER_MIN = 4;
// Airport labels from this zoom on.
const LABELS_AT_ZOOM = 6;

/**
 * Every aircraft on one canvas, drawn as a triangle along its heading:
 * 10,000 DOM markers took 1.7 s to redraw here, a canvas a few ms. Where
 * aircraft crowd (a hub at a continental view) a cell of them is one disc
 * with their count, so the boundaries and the rest stay readable; they
 * separate as you zoom in. A click picks the nearest aircraft within
 * 10 px, or zooms into a disc.
 */
const AircraftLayer = L.Layer.extend({
  onAdd(m) {
    this.canvas = L.DomUtil.create('canvas', 'aircraft-canvas');
    this.canvas.dataset.testid = 'aircraft-canvas';
    // A pane of its own above the outlines (overlayPane, 400), whichever
    // of them loads last.
    const pane = m.getPane('aircraft') || m.createPane('aircraft');
    pane.style.zIndex = 450;
    pane.appendChild(this.canvas);
    this.flights = [];
    this.clusters = [];
    m.on('moveend zoomend resize', this.redraw, this);
    m.on('click', this.pick, this);
    this.redraw();
  },
  onRemove(m) {
    this.canvas.remove();
    m.off('moveend zoomend resize', this.redraw, this);
    m.off('click', this.pick, this);
  },
  setFlights(flights) {
    this.flights = flights;
    this.redraw();
  },
  redraw() {
    const started = performance.now();
    const m = this._map;
    const size = m.getSize();
    L.DomUtil.setPosition(this.canvas, m.containerPointToLayerPoint([0, 0]));
    this.canvas.width = size.x;
    this.canvas.height = size.y;
    const ctx = this.canvas.getContext('2d');
    const visible = this.place(size);
    const cells = m.getZoom() < SEPARATE_AT_ZOOM ? crowdedCells(visible) : new Map();
    this.clusters = [...cells.values()].filter((c) => c.length >= CLUSTER_MIN);
    ctx.fillStyle = '#ffd166';
    for (const f of visible) {
      f.single = !(cells.get(f.cell)?.length >= CLUSTER_MIN);
      if (f.single) drawPlane(ctx, f);
    }
    this.clusters.forEach((c) => drawCluster(ctx, c));
    const labels = m.getZoom() >= LABELS_AT_ZOOM ? drawLabels(ctx, m, size) : 0;
    const data = m.getContainer().dataset;
    data.labels = String(labels);
    data.singles = String(visible.length - this.clusters.reduce((n, c) => n + c.length, 0));
    data.drawn = String(visible.length);
    data.clusters = String(this.clusters.length);
    data.drawMs = (performance.now() - started).toFixed(1);
  },
  /** Each flight's screen point; those in view. */
  place(size) {
    const m = this._map;
    const visible = [];
    for (const f of this.flights) {
      const p = m.latLngToContainerPoint([f.lat, f.lon]);
      f.x = p.x;
      f.y = p.y;
      f.single = false;
      if (p.x < -8 || p.y < -8 || p.x > size.x + 8 || p.y > size.y + 8) continue;
      f.cell = Math.floor(p.x / CELL_PX) + Math.floor(p.y / CELL_PX) * 10000;
      visible.push(f);
    }
    return visible;
  },
  pick(event) {
    const { x, y } = event.containerPoint;
    let best = null;
    let bestDistance = 100; // 10 px, squared
    for (const f of this.flights) {
      const d = (f.x - x) ** 2 + (f.y - y) ** 2;
      if (f.single && d < bestDistance) [best, bestDistance] = [f, d];
    }
    if (best) return selectFlight(best.uid).catch(report);
    const disc = this.clusters.find((c) => (c.x - x) ** 2 + (c.y - y) ** 2 <= c.radius ** 2);
    if (disc) return this._map.setView(this._map.containerPointToLatLng([disc.x, disc.y]), this._map.getZoom() + 2);
    // Drawn alone a moment ago and in a disc's cell now (the sky moved
    // under the pointer): still the aircraft the operator saw.
    for (const f of this.flights) {
      const d = (f.x - x) ** 2 + (f.y - y) ** 2;
      if (d < bestDistance) [best, bestDistance] = [f, d];
    }
    if (best) selectFlight(best.uid).catch(report);
  },
});

/** The visible aircraft grouped by screen cell. */
function crowdedCells(visible) {
  const cells = new Map();
  for (const f of visible) {
    const cell = cells.get(f.cell);
    if (cell) cell.push(f);
    else cells.set(f.cell, [f]);
  }
  return cells;
}

/** One aircraft: a triangle along its heading. */
function drawPlane(ctx, f) {
  const a = ((f.heading || 0) * Math.PI) / 180;
  const [sin, cos] = [Math.sin(a), Math.cos(a)];
  // Nose 6 px ahead, tail corners 4 px behind and 3.5 px aside.
  ctx.beginPath();
  ctx.moveTo(f.x + 6 * sin, f.y - 6 * cos);
  ctx.lineTo(f.x - 4 * sin + 3.5 * cos, f.y + 4 * cos + 3.5 * sin);
  ctx.lineTo(f.x - 4 * sin - 3.5 * cos, f.y + 4 * cos - 3.5 * sin);
  ctx.fill();
}

/** A crowded cell: a disc at its aircraft's mean point, sized by their count. */
function drawCluster(ctx, cell) {
  cell.x = cell.reduce((sum, f) => sum + f.x, 0) / cell.length;
  cell.y = cell.reduce((sum, f) => sum + f.y, 0) / cell.length;
  cell.radius = Math.min(CELL_PX / 2 - 2, 7 + 2.5 * Math.log2(cell.length));
  ctx.beginPath();
  ctx.arc(cell.x, cell.y, cell.radius, 0, 2 * Math.PI);
  ctx.fillStyle = 'rgba(255, 209, 102, 0.35)';
  ctx.fill();
  ctx.strokeStyle = '#ffd166';
  ctx.lineWidth = 1;
  ctx.stroke();
  ctx.fillStyle = '#fff4d6';
  ctx.font = '10px system-ui, sans-serif';
  ctx.textAlign = 'center';
  ctx.textBaseline = 'middle';
  ctx.fillText(String(cell.length), cell.x, cell.y);
}

/** The airports in view, by ICAO code; how many. */
function drawLabels(ctx, m, size) {
  ctx.font = '10px system-ui, sans-serif';
  ctx.textAlign = 'left';
  ctx.textBaseline = 'middle';
  ctx.fillStyle = '#7fc8ff';
  let drawn = 0;
  for (const a of airports) {
    const p = m.latLngToContainerPoint([a.lat, a.lon]);
    if (p.x < 0 || p.y < 0 || p.x > size.x || p.y > size.y) continue;
    ctx.fillRect(p.x - 1.5, p.y - 1.5, 3, 3);
    ctx.fillText(a.icao, p.x + 4, p.y);
    drawn++;
  }
  return drawn;
}

const aircraft = new AircraftLayer().addTo(map);
// The opening view fits the traffic once; after that the operator's view is theirs.
let fitted = false;

async function drawAircraft() {
  const geo = await api('/positions');
  aircraft.setFlights(geo.features.map((f) => ({
    uid: f.properties.flight_uid,
    lon: f.geometry.coordinates[0],
    lat: f.geometry.coordinates[1],
    heading: f.properties.heading,
  })));
  $('flight-count').textContent = geo.features.length;
  map.getContainer().dataset.aircraft = String(geo.features.length);
  if (!fitted && aircraft.flights.length) {
    fitted = true;
    map.fitBounds(trafficBounds(aircraft.flights), { padding: [20, 20], maxZoom: 7 });
  }
}

/** The box holding most of the traffic (2nd to 98th percentile each way, so one stray flight does not zoom the world out). */
function trafficBounds(flights) {
  const lats = flights.map((f) => f.lat).sort((a, b) => a - b);
  const lons = flights.map((f) => f.lon).sort((a, b) => a - b);
  const at = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return L.latLngBounds([at(lats, 0.02), at(lons, 0.02)], [at(lats, 0.98), at(lons, 0.98)]);
}

// ---- one flight: record, track, events ---------------------------------------

let trackLine = null;
let selected = null;

/** Shows a flight's record, draws its track and lists its events. */
async function selectFlight(uid) {
  selected = uid;
  const body = await api(`/flight?flight_uid=${uid}&format=legacy`);
  $('flight').textContent = JSON.stringify(body.data, null, 1);
  const track = await drawTrack(uid);
  if (track) await listFlightEvents(uid, track.since_seq);
}

async function drawTrack(uid) {
  const { data } = await api(`/flight/track?flight_uid=${uid}`);
  if (selected !== uid) return null;
  trackLine?.remove();
  const points = data.points.map((p) => [p.lat, p.lon]);
  trackLine = L.polyline(points, { color: '#7fffd4', weight: 2, interactive: false }).addTo(map);
  const first = data.points[0];
  $('flight-track').dataset.points = String(points.length);
  $('flight-track').textContent = points.length
    ? `Track: ${points.length} points since ${new Date(first.t).toISOString().slice(11, 16)}Z`
    : 'Track: no position yet';
  return data;
}

/** The flight's events, paged from where the gateway first saw it. */
async function listFlightEvents(uid, sinceSeq) {
  const health = await api('/health');
  // A flight seen since long ago: its last 500,000 events' worth of feed.
  let since = Math.max(sinceSeq, (health.data.last_seq || 0) - 500000);
  let events = [];
  for (let page = 0; page < 20 && since < health.data.last_seq; page++) {
    const body = await api(`/events?since=${since}&limit=200&flight_uid=${uid}&channels=-flight.positions`);
    events = events.concat(body.data.events).slice(-50);
    if (body.data.next_since <= since) break;
    since = body.data.next_since;
  }
  if (selected !== uid) return;
  const items = events.reverse().map(flightEventItem);
  $('flight-events').replaceChildren(...items);
  if (!items.length) emptyItem($('flight-events'), 'no events for this flight yet');
}

/** A flight by callsign: selected, the map centred on it. */
async function findFlight(callsign) {
  const body = await api(`/flight?callsign=${encodeURIComponent(callsign)}&format=legacy`).catch((error) => {
    $('flight').textContent = error.status === 404 ? `No flight ${callsign} is connected.` : error.message;
    return null;
  });
  if (!body) return;
  const position = body.data.position;
  if (position) map.setView([position.latitude, position.longitude], Math.max(map.getZoom(), 7));
  await selectFlight(body.data.flight_uid);
}

// ---- the tables -------------------------------------------------------------

function rows(tbody, items, cells) {
  tbody.replaceChildren(...items.map((item) => {
    const tr = document.createElement('tr');
    for (const value of cells(item)) {
      const td = document.createElement('td');
      td.textContent = value ?? '';
      tr.append(td);
    }
    return tr;
  }));
}

async function drawPlugins() {
  const body = await api('/plugins').catch((error) => panelError($('plugins'), error));
  if (!body) return;
  rows($('plugins'), body.data, (p) => [p.name, p.kind, p.status, p.tier, p.calls, p.faults, Math.round(p.mean_call_us)]);
  for (const [i, tr] of [...$('plugins').children].entries()) tr.append(pluginActions(body.data[i]));
}

/** A plugin row's Quarantine or Restore button. */
function pluginActions(plugin) {
  const held = plugin.status === 'quarantined' || plugin.rejected;
  const action = held ? 'restore' : 'quarantine';
  return buttonCell(held ? 'Restore' : 'Quarantine', { 'data-testid': 'plugin-actions', 'data-plugin': plugin.name, 'data-action': action },
    () => actOnPlugin(plugin, action));
}

async function actOnPlugin(plugin, action) {
  const what = action === 'restore' ? `Put ${plugin.name} back in service` : `Quarantine ${plugin.name} (it stops being called)`;
  if (!confirm(`${what}?`)) return;
  const options = action === 'quarantine' ? { method: 'POST', body: { reason: 'from the dashboard' } } : { method: 'POST' };
  const answer = await api(`/plugins/${encodeURIComponent(plugin.name)}/${action}`, options)
    .catch((error) => ({ error: error.message }));
  $('plugin-answer').textContent = JSON.stringify(answer, null, 1);
  await drawPlugins();
}

/** A cell holding one button with these attributes. */
function buttonCell(label, attributes, onClick) {
  const td = document.createElement('td');
  const button = document.createElement('button');
  button.textContent = label;
  for (const [name, value] of Object.entries(attributes)) button.setAttribute(name, value);
  button.addEventListener('click', () => onClick().catch(report));
  td.append(button);
  return td;
}

/** Every key with its usage (system key), each revocable. */
async function drawKeys() {
  const body = await api('/keys').catch((error) => (error.status === 404 ? { data: null } : panelError($('keys'), error)));
  if (!body) return;
  if (!body.data) return emptyRow($('keys'), 9, 'access control is off on this gateway');
  rows($('keys'), body.data, (k) => [k.id, k.key_prefix, k.tier, k.owner, keyState(k),
    k.last_used_at?.slice(0, 16).replace('T', ' '), k.requests, (k.bytes_out / 1e6).toFixed(1)]);
  for (const [i, tr] of [...$('keys').children].entries()) {
    const k = body.data[i];
    tr.append(k.is_active ? buttonCell('Revoke', { 'data-revoke': k.id }, () => revokeKey(k)) : document.createElement('td'));
  }
  if (!body.data.length) emptyRow($('keys'), 9, 'no keys');
}

function keyState(k) {
  if (k.revoked_at) return 'revoked';
  if (k.expires_at && Date.parse(k.expires_at) < Date.now()) return 'expired';
  return k.is_active ? 'active' : 'inactive';
}

async function revokeKey(k) {
  if (!confirm(`Revoke key ${k.id} (${k.key_prefix}..., ${k.owner})? Its holder is refused from the next request.`)) return;
  const answer = await api(`/keys/${k.id}`, { method: 'DELETE' }).catch((error) => ({ error: error.message }));
  $('keys-answer').textContent = JSON.stringify(answer, null, 1);
  await drawKeys();
}

/** A panel this key may not read says so in place; other errors go up. */
function panelError(tbody, error) {
  if (error.status !== 403) throw error;
  const td = document.createElement('td');
  td.colSpan = 8;
  td.className = 'bad';
  td.textContent = error.message;
  tbody.replaceChildren(td);
  return null;
}

async function drawPrograms() {
  const [programs, controlled] = await Promise.all([api('/tmi/programs'), api('/tmi/controlled?per_page=50')]);
  const all = [...programs.data.ground_stops, ...programs.data.gdp_programs];
  rows($('tmi'), all, (p) => [p.program_id, p.program_type, p.airport, p.flight_counts?.controlled,
    p.times?.end?.slice(0, 16)]);
  rows($('tmi-flights'), controlled.data, (f) => [f.callsign, f.tmi.program, f.route.departure, f.route.destination,
    f.tmi.ground_stop.held ? 'held' : f.times.edct?.slice(11, 16)]);
  for (const [i, tr] of [...$('tmi').children].entries()) tr.append(programActions(all[i]));
  if (!all.length) emptyRow($('tmi'), 6, 'no active programs');
  if (!controlled.data.length) emptyRow($('tmi-flights'), 5, 'no controlled flights');
}

/** A program row's Amend and Release buttons. */
function programActions(program) {
  const td = buttonCell('Release', { 'data-release': program.id }, () => release(program));
  td.prepend(buttonCell('Amend', { 'data-amend': program.id }, async () => startAmend(program)).firstChild, ' ');
  return td;
}

/** Shows the API's answer to an operator's action. */
function showAnswer(text) {
  $('tmi-answer').textContent = text;
}

async function release(program) {
  if (!confirm(`Release ${program.program_id} (${program.airport})?`)) return;
  const answer = await api(`/tmi/programs/${program.id}`, { method: 'DELETE' })
    .catch((error) => ({ error: error.message }));
  showAnswer(JSON.stringify(answer, null, 1));
  await drawPrograms();
}

// The program the form amends, when it amends one (else it issues).
let amending = null;

/** The form takes a program's values; its submit amends that program. */
function startAmend(program) {
  amending = program;
  $('tmi-type').value = program.program_type;
  $('tmi-airport').value = program.airport;
  for (const id of ['tmi-type', 'tmi-airport']) $(id).disabled = true;
  const left = (Date.parse(program.times?.end) - Date.now()) / 3600e3;
  $('tmi-hours').value = Math.max(1, Math.round(left));
  if (program.rates?.program_rate) $('tmi-rate').value = program.rates.program_rate;
  $('tmi-submit').textContent = `Amend ${program.program_id}`;
  $('tmi-cancel').hidden = false;
}

function stopAmend() {
  amending = null;
  for (const id of ['tmi-type', 'tmi-airport']) $(id).disabled = false;
  $('tmi-submit').textContent = 'Issue';
  $('tmi-cancel').hidden = true;
}

/** The TMI form: issues a ground stop or a GDP at an airport for some hours, or amends the program chosen. */
async function submitProgram() {
  const type = $('tmi-type').value;
  const airport = $('tmi-airport').value.trim().toUpperCase();
  const hours = Number($('tmi-hours').value) || 2;
  const body = { end_time: new Date(Date.now() + hours * 3600e3).toISOString() };
  if (type === 'GDP') body.rate = Number($('tmi-rate').value) || 30;
  let request;
  if (amending) {
    const rate = type === 'GDP' ? `, ${body.rate} an hour` : '';
    if (!confirm(`Amend ${amending.program_id}: end in ${hours} h${rate}?`)) return;
    request = api(`/tmi/programs/${amending.id}`, { method: 'PATCH', body });
  } else {
    Object.assign(body, { program_type: type, airport });
    const what = type === 'GDP' ? `a GDP at ${airport}, ${body.rate} an hour` : `a ground stop at ${airport}`;
    if (!confirm(`Issue ${what} for ${hours} h?`)) return;
    request = api('/tmi/programs', { method: 'POST', body });
  }
  const answer = await request.catch((error) => ({ error: error.message }));
  showAnswer(JSON.stringify(answer, null, 1));
  if (!answer.error) stopAmend();
  await drawPrograms();
}

/** A list with nothing to show says so. */
function emptyItem(list, text) {
  const li = document.createElement('li');
  li.className = 'empty';
  li.textContent = text;
  list.replaceChildren(li);
}

/** A table with nothing to show says so, in one row across it. */
function emptyRow(tbody, columns, text) {
  const td = document.createElement('td');
  td.colSpan = columns;
  td.className = 'empty';
  td.textContent = text;
  const tr = document.createElement('tr');
  tr.append(td);
  tbody.replaceChildren(tr);
}

async function drawHealth() {
  const body = await api('/health');
  const sources = Object.entries(body.data.sources);
  rows($('sources'), sources, ([name, s]) => [name, s.last_snapshot, s.age_seconds, s.applied, s.fetch_errors + s.rejected]);
  $('clients').textContent = `WebSocket clients: ${await clientsByTier() || body.data.websocket_clients}; active flights: ${body.data.active_flights}`;
}

/** "system 1, developer 3" from /metrics' swim_ws_connections gauge. */
async function clientsByTier() {
  const text = await fetch('/api/swim/v1/metrics').then((r) => r.text()).catch(() => '');
  const tiers = [...text.matchAll(/^swim_ws_connections\{tier="(\w+)"\} (\d+)$/gm)];
  return tiers.map(([, tier, n]) => `${tier} ${n}`).join(', ');
}

function addEvent(message) {
  if (message.seq <= lastSeq || message.type === 'flight.positions') return;
  lastSeq = message.seq;
  const li = document.createElement('li');
  const d = message.data || {};
  const what = d.callsign || d.plugin || d.program_name || d.airport || '';
  li.textContent = `${message.timestamp?.slice(11, 19) ?? ''} ${message.type} ${what} ${d.action || ''}`.trim();
  li.dataset.type = message.type;
  li.dataset.seq = message.seq;
  li.hidden = !shownType(message.type);
  $('events-empty')?.remove();
  $('events').prepend(li);
  while ($('events').children.length > MAX_EVENTS) $('events').lastChild.remove();
}

/** A live event of the selected flight, newest first. */
function addFlightEvent(message) {
  $('flight-events').querySelector('.empty')?.remove();
  $('flight-events').prepend(flightEventItem(message));
}

/** One event in the selected flight's list. */
function flightEventItem(e) {
  const li = document.createElement('li');
  li.dataset.type = e.type;
  li.dataset.seq = e.seq;
  li.textContent = `${e.timestamp?.slice(11, 19) ?? ''} ${e.type} ${e.data?.action || ''}`.trim();
  return li;
}

/** Whether the type filter (a prefix, e.g. `tmi.` or `flight.dep`) lets a type through. */
function shownType(type) {
  const wanted = $('event-filter').value.trim();
  return !wanted || type.startsWith(wanted);
}

/** The newest events from /events, so the list is not empty on open. */
async function loadHistory() {
  const health = await api('/health');
  const last = health.data.last_seq || 0;
  let since = Math.max(0, last - 2000);
  let events = [];
  // The feed's tail, page by page, without the positions batches (the
  // map's, and the bulk of the bytes); the newest MAX_EVENTS are kept.
  while (since < last) {
    const page = await api(`/events?since=${since}&limit=500&channels=-flight.positions`);
    events = events.concat(page.data.events).slice(-MAX_EVENTS);
    if (page.data.next_since <= since) break;
    since = page.data.next_since;
  }
  events.forEach(addEvent);
  // Live picks up after the last seq these pages covered.
  lastSeq = Math.max(lastSeq, since);
  if (!$('events').children.length) {
    const li = document.createElement('li');
    li.id = 'events-empty';
    li.className = 'empty';
    li.textContent = 'no events yet';
    $('events').append(li);
  }
}

// ---- the live feed ----------------------------------------------------------

let redraw = null;
function soon(fn) {
  clearTimeout(redraw);
  redraw = setTimeout(fn, 200);
}

function connect() {
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  socket = new WebSocket(`${scheme}://${location.host}${API}/ws?api_key=${encodeURIComponent(key)}`);
  socket.onopen = () => {
    $('connection').textContent = 'live';
    // Live from where the history ended: no gap, and `addEvent` drops
    // anything already shown.
    socket.send(JSON.stringify({ action: 'subscribe', channels: EVENT_CHANNELS, since: lastSeq }));
  };
  socket.onmessage = (frame) => {
    const message = JSON.parse(frame.data);
    if (message.type === 'error') return showError(message.message);
    if (message.type === 'flight.positions') {
      return soon(() => Promise.all([drawAircraft(), drawPrograms(), selected && drawTrack(selected)]).catch(report));
    }
    if (!message.seq) return;
    addEvent(message);
    if (selected && message.data?.flight_uid === selected) addFlightEvent(message);
    if (message.type === 'system.plugin') drawPlugins().catch(report);
    if (message.type.startsWith('tmi.')) drawPrograms().catch(report);
  };
  socket.onclose = (event) => {
    $('connection').textContent = `disconnected (${event.code})`;
    if (event.code !== 4001) setTimeout(connect, 3000);
  };
}

function report(error) {
  showError(error.status === 401 || error.status === 403
    ? `The API key was refused: ${error.message}. Enter a valid key.`
    : error.message);
}

async function start() {
  key = keyFromPage();
  if (!key) return showError('Enter an API key to see the live picture.');
  try {
    await drawAircraft();
  } catch (error) {
    sessionStorage.removeItem('swim-key');
    return report(error);
  }
  showError('');
  await Promise.all([drawPlugins(), drawKeys(), drawPrograms(), drawHealth(), loadHistory()]).catch(report);
  setInterval(() => drawHealth().catch(report), 5000);
  setInterval(() => drawPlugins().catch(report), 10000);
  setInterval(() => drawKeys().catch(report), 10000);
  connect();
}

$('flight-search').addEventListener('keydown', (event) => {
  if (event.key === 'Enter' && event.target.value.trim()) findFlight(event.target.value.trim()).catch(report);
});

$('tmi-form').addEventListener('submit', (event) => {
  event.preventDefault();
  submitProgram().catch(report);
});

$('tmi-cancel').addEventListener('click', stopAmend);

$('event-filter').addEventListener('input', () => {
  for (const li of $('events').children) li.hidden = li.dataset.type ? !shownType(li.dataset.type) : false;
});

$('key-form').addEventListener('submit', (event) => {
  event.preventDefault();
  sessionStorage.setItem('swim-key', $('key').value.trim());
  if (socket) socket.close();
  start();
});

start();
