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

const map = L.map('map', { worldCopyJump: true, attributionControl: false }).setView([39, -95], 4);

fetch('/dashboard/assets/boundaries.geojson')
  .then((r) => r.json())
  .then((geo) => L.geoJSON(geo, {
    style: (f) => ({ color: f.properties.oceanic ? '#24425e' : '#35516e', weight: 1, fill: false }),
    interactive: false,
  }).addTo(map));

/**
 * Every aircraft on one canvas, drawn as a triangle along its heading:
 * 10,000 DOM markers took 1.7 s to redraw here, a canvas a few ms. A click
 * picks the nearest aircraft within 10 px.
 */
const AircraftLayer = L.Layer.extend({
  onAdd(m) {
    this.canvas = L.DomUtil.create('canvas', 'aircraft-canvas');
    this.canvas.dataset.testid = 'aircraft-canvas';
    m.getPanes().overlayPane.appendChild(this.canvas);
    this.flights = [];
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
    const m = this._map;
    const size = m.getSize();
    L.DomUtil.setPosition(this.canvas, m.containerPointToLayerPoint([0, 0]));
    this.canvas.width = size.x;
    this.canvas.height = size.y;
    const ctx = this.canvas.getContext('2d');
    ctx.fillStyle = '#ffd166';
    let drawn = 0;
    for (const f of this.flights) {
      const p = m.latLngToContainerPoint([f.lat, f.lon]);
      f.x = p.x;
      f.y = p.y;
      if (p.x < -8 || p.y < -8 || p.x > size.x + 8 || p.y > size.y + 8) continue;
      const a = ((f.heading || 0) * Math.PI) / 180;
      const [sin, cos] = [Math.sin(a), Math.cos(a)];
      // Nose 6 px ahead, tail corners 4 px behind and 3.5 px aside.
      ctx.beginPath();
      ctx.moveTo(p.x + 6 * sin, p.y - 6 * cos);
      ctx.lineTo(p.x - 4 * sin + 3.5 * cos, p.y + 4 * cos + 3.5 * sin);
      ctx.lineTo(p.x - 4 * sin - 3.5 * cos, p.y + 4 * cos - 3.5 * sin);
      ctx.fill();
      drawn++;
    }
    m.getContainer().dataset.drawn = String(drawn);
  },
  pick(event) {
    const { x, y } = event.containerPoint;
    let best = null;
    let bestDistance = 100; // 10 px, squared
    for (const f of this.flights) {
      const d = (f.x - x) ** 2 + (f.y - y) ** 2;
      if (d < bestDistance) [best, bestDistance] = [f, d];
    }
    if (best) showFlight(best.uid).catch(report);
  },
});
const aircraft = new AircraftLayer().addTo(map);

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
}

async function showFlight(uid) {
  const body = await api(`/flight?flight_uid=${uid}&format=legacy`);
  $('flight').textContent = JSON.stringify(body.data, null, 1);
}

/** A flight by callsign: its record shown, the map centred on it. */
async function findFlight(callsign) {
  const body = await api(`/flight?callsign=${encodeURIComponent(callsign)}&format=legacy`).catch((error) => {
    $('flight').textContent = error.status === 404 ? `No flight ${callsign} is connected.` : error.message;
    return null;
  });
  if (!body) return;
  $('flight').textContent = JSON.stringify(body.data, null, 1);
  const position = body.data.position;
  if (position) map.setView([position.latitude, position.longitude], Math.max(map.getZoom(), 7));
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
  for (const [i, tr] of [...$('tmi').children].entries()) tr.append(releaseCell(all[i]));
  if (!all.length) emptyRow($('tmi'), 6, 'no active programs');
  if (!controlled.data.length) emptyRow($('tmi-flights'), 5, 'no controlled flights');
}

/** A program row's Release button. */
function releaseCell(program) {
  const td = document.createElement('td');
  const button = document.createElement('button');
  button.textContent = 'Release';
  button.dataset.release = program.id;
  button.addEventListener('click', () => release(program).catch(report));
  td.append(button);
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

/** The TMI form: a ground stop or a GDP at an airport for some hours. */
async function issueProgram() {
  const type = $('tmi-type').value;
  const airport = $('tmi-airport').value.trim().toUpperCase();
  const hours = Number($('tmi-hours').value) || 2;
  const body = { program_type: type, airport, end_time: new Date(Date.now() + hours * 3600e3).toISOString() };
  if (type === 'GDP') body.rate = Number($('tmi-rate').value) || 30;
  const what = type === 'GDP' ? `a GDP at ${airport}, ${body.rate} an hour` : `a ground stop at ${airport}`;
  if (!confirm(`Issue ${what} for ${hours} h?`)) return;
  const answer = await api('/tmi/programs', { method: 'POST', body }).catch((error) => ({ error: error.message }));
  showAnswer(JSON.stringify(answer, null, 1));
  await drawPrograms();
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
      return soon(() => Promise.all([drawAircraft(), drawPrograms()]).catch(report));
    }
    if (!message.seq) return;
    addEvent(message);
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
  await Promise.all([drawPlugins(), drawPrograms(), drawHealth(), loadHistory()]).catch(report);
  setInterval(() => drawHealth().catch(report), 5000);
  setInterval(() => drawPlugins().catch(report), 10000);
  connect();
}

$('flight-search').addEventListener('keydown', (event) => {
  if (event.key === 'Enter' && event.target.value.trim()) findFlight(event.target.value.trim()).catch(report);
});

$('tmi-form').addEventListener('submit', (event) => {
  event.preventDefault();
  issueProgram().catch(report);
});

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
