// Helpers for VATSWIM plugins written in JavaScript (componentize-js).
//
// What `vatswim-plugin-api` gives Rust authors, for JavaScript: typed rows
// over a cycle's columns (so a detector never indexes raw columns or checks
// sentinels), builders for events, patches and filter matches, per-item
// errors for ingest adapters, and time and distance helpers. The WIT
// contract (`wit/types.wit`) is the reference for every field; this module
// only makes it pleasant. Copy it beside `app.js` (`swim plugins new` does).
//
// Timestamps are read as Numbers of milliseconds (exact for any date), and
// absent values as `undefined`; flight uids stay BigInt, as the host sends
// them. Builders take Numbers and convert.
//
//   import { changes } from './vatswim.js';
//   for (const { uid, before, after } of changes(batch)) { ... }

export const NO_TIME = -(2n ** 63n);
export const NO_SQUAWK = 0xffff;
export const NO_INT = -(2 ** 31);

// `section-bits`: which sections a row has.
export const EXISTS = 1, IDENTITY = 2, FLIGHT_PLAN = 4, POSITION = 8, PROGRESS = 16;
export const TIMES = 32, TMI = 64, TRACK = 128, METERING = 256;

export const PHASES = ['prefile', 'taxiing', 'departed', 'enroute', 'descending', 'arrived', 'disconnected'];

export const MINUTE_MS = 60_000;
export const HOUR_MS = 60 * MINUTE_MS;
export const EARTH_RADIUS_NM = 3440.065;

// ---- reading a cycle --------------------------------------------------------

/**
 * A timestamp column's value: milliseconds, or undefined when absent (or
 * when the manifest's `reads` leaves the column out: it arrives empty, and
 * every column read past its end is undefined).
 */
export function time(value) {
  return value === NO_TIME || value === undefined ? undefined : Number(value);
}
const int = (v) => (v === NO_INT ? undefined : v);
const float = (v) => (Number.isNaN(v) ? undefined : v);
const squawk = (v) => (v === NO_SQUAWK ? undefined : v);

const decoder = new TextDecoder();
const encoder = new TextEncoder();

/** A string column: `strings.get(i)` is row i's text (decoded once, lazily). */
export class Strings {
  constructor(column) {
    this.column = column;
    this.values = undefined;
  }

  get(row) {
    if (this.values === undefined) this.values = unpack(this.column);
    return this.values[row] ?? '';
  }
}

function unpack({ text, ends }) {
  const total = ends.length ? ends[ends.length - 1] : 0;
  // `ends` count bytes; for ASCII text (callsigns, ICAO codes) that is also
  // characters, and slicing the string avoids an encode.
  const ascii = text.length === total;
  const bytes = ascii ? undefined : encoder.encode(text);
  const values = [];
  let start = 0;
  for (const end of ends) {
    values.push(ascii ? text.slice(start, end) : decoder.decode(bytes.subarray(start, end)));
    start = end;
  }
  return values;
}

/** One side of a change, with each string column wrapped once. */
class Rows {
  constructor(rows) {
    this.rows = rows;
    this.strings = new Map();
  }

  text(section, name) {
    const key = `${section}.${name}`;
    let column = this.strings.get(key);
    if (column === undefined) {
      column = new Strings(this.rows[section][name]);
      this.strings.set(key, column);
    }
    return column;
  }
}

/**
 * One flight on one side of a change. Each section is undefined when the
 * flight does not have it or the manifest's `reads` leaves it out.
 */
export class Flight {
  constructor(rows, row) {
    this.rows = rows;
    this.row = row;
  }

  has(bit) {
    return (this.rows.rows.sections[this.row] & bit) !== 0;
  }

  get uid() {
    return this.rows.rows.flightUid[this.row];
  }

  get identity() {
    if (!this.has(IDENTITY)) return undefined;
    const r = this.row;
    return { callsign: this.rows.text('identity', 'callsign').get(r), cid: this.rows.rows.identity.cid[r] };
  }

  get flightPlan() {
    if (!this.has(FLIGHT_PLAN)) return undefined;
    const c = this.rows.rows.flightPlan;
    const r = this.row;
    const text = (name) => this.rows.text('flightPlan', name).get(r);
    return {
      deptIcao: text('deptIcao'),
      destIcao: text('destIcao'),
      altIcao: text('altIcao'),
      aircraftType: text('aircraftType'),
      altitudeFt: int(c.altitudeFt[r]),
      tasKts: int(c.tasKts[r]),
      route: text('route'),
      remarks: text('remarks'),
      rules: text('rules'),
      deptime: text('deptime'),
    };
  }

  get position() {
    if (!this.has(POSITION)) return undefined;
    const c = this.rows.rows.position;
    const r = this.row;
    return {
      lat: c.lat[r],
      lon: c.lon[r],
      altitudeFt: c.altitudeFt[r],
      headingDeg: c.headingDeg[r],
      groundspeedKts: c.groundspeedKts[r],
      verticalRateFpm: c.verticalRateFpm[r],
      squawk: squawk(c.squawk[r]),
      updatedAt: Number(c.updatedAt[r]),
    };
  }

  get progress() {
    if (!this.has(PROGRESS)) return undefined;
    const c = this.rows.rows.progress;
    const r = this.row;
    return {
      phase: PHASES[c.phase[r]],
      isActive: c.isActive[r] === 1,
      distToDestNm: float(c.distToDestNm[r]),
      pctComplete: float(c.pctComplete[r]),
      etaUtc: time(c.etaUtc[r]),
    };
  }

  get times() {
    if (!this.has(TIMES)) return undefined;
    const c = this.rows.rows.times;
    const r = this.row;
    return { outUtc: time(c.outUtc[r]), offUtc: time(c.offUtc[r]), onUtc: time(c.onUtc[r]), inUtc: time(c.inUtc[r]) };
  }

  get tmi() {
    if (!this.has(TMI)) return undefined;
    const c = this.rows.rows.tmi;
    const r = this.row;
    return {
      gsHeld: c.gsHeld[r] === 1,
      ctlType: [undefined, 'gs', 'gdp'][c.ctlType[r]],
      programId: c.programId[r] === 0n ? undefined : c.programId[r],
      slotTimeUtc: time(c.slotTimeUtc[r]),
      edctUtc: time(c.edctUtc[r]),
      delayMinutes: int(c.delayMinutes[r]),
      etaUtc: time(c.etaUtc[r]),
    };
  }

  get track() {
    if (!this.has(TRACK)) return undefined;
    const c = this.rows.rows.track;
    const r = this.row;
    return { source: this.rows.text('track', 'source').get(r), squawk: squawk(c.squawk[r]), updatedAt: Number(c.updatedAt[r]) };
  }

  get metering() {
    if (!this.has(METERING)) return undefined;
    const c = this.rows.rows.metering;
    const r = this.row;
    const text = (name) => this.rows.text('metering', name).get(r);
    return {
      staUtc: time(c.staUtc[r]),
      meteringTimeUtc: time(c.meteringTimeUtc[r]),
      meteringPoint: text('meteringPoint'),
      delayMinutes: int(c.delayMinutes[r]),
      frozen: c.frozen[r] === 1,
      stream: text('stream'),
      status: text('status'),
    };
  }
}

function side(rows, row) {
  const flight = new Flight(rows, row);
  return flight.has(EXISTS) ? flight : undefined;
}

/**
 * The cycle's changes as `{ uid, before, after }`: `before` is undefined for
 * a new flight, `after` for a deleted one.
 */
export function* changes(batch) {
  const before = new Rows(batch.before);
  const after = new Rows(batch.after);
  const uids = batch.after.flightUid;
  for (let row = 0; row < uids.length; row++) {
    yield { uid: uids[row], before: side(before, row), after: side(after, row) };
  }
}

/** The context's airports by ICAO code (the manifest must read "airports"). */
export function airports(ctx) {
  return new Map(ctx.airports.map((a) => [a.icao, a]));
}

// ---- writing ----------------------------------------------------------------

/** An event for the change feed; `payload` is an object of extra fields. */
export function event(kind, flightUid, payload = {}) {
  return { kind, flightUid: flightUid === undefined ? undefined : BigInt(flightUid), payload: JSON.stringify(payload) };
}

/** A flight reference: a BigInt or Number is a uid, a string a callsign. */
export function flight(ref) {
  if (typeof ref === 'bigint' || typeof ref === 'number') return { tag: 'uid', val: BigInt(ref) };
  return { tag: 'callsign', val: String(ref).trim().toUpperCase() };
}

/** New values for fields of one flight (`{ tag: 'times-on-utc', val }`...). */
export function patch(ref, ...fields) {
  return { flight: flight(ref), fields };
}

/** A timestamp to send: milliseconds (a Number) as the WIT's BigInt. */
export function timestamp(ms) {
  return ms === undefined || ms === null ? undefined : BigInt(Math.trunc(ms));
}

// ---- ingest adapters --------------------------------------------------------

/** Thrown while reading one item: reported for that item by index. */
export class ItemFault extends Error {
  constructor(field, message) {
    super(message);
    this.field = field;
  }
}

/**
 * A JSON object body and its array `key`; throws the reason (400, nothing
 * applies) when the body is not such an object or holds over `maxItems`.
 */
export function jsonItems(body, key, maxItems) {
  let document;
  try {
    document = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body));
  } catch (e) {
    throw `body is not JSON: ${e.message}`;
  }
  if (document === null || typeof document !== 'object' || Array.isArray(document)) {
    throw 'body must be a JSON object';
  }
  const items = document[key];
  if (!Array.isArray(items)) throw `\`${key}\` must be an array`;
  if (items.length > maxItems) throw `${items.length} items in \`${key}\`; at most ${maxItems} per request`;
  return { document, items };
}

/**
 * Calls `read(item)` for each item: a patch is kept, an `ItemFault` (or a
 * non-object item) becomes that item's error. Other throws fault the call.
 */
export function parseEach(items, read) {
  const parsed = [];
  const errors = [];
  items.forEach((item, index) => {
    try {
      if (item === null || typeof item !== 'object' || Array.isArray(item)) {
        throw new ItemFault('', 'each item must be an object');
      }
      parsed.push({ index, patch: read(item) });
    } catch (e) {
      if (!(e instanceof ItemFault)) throw e;
      errors.push({ index, field: e.field, message: e.message });
    }
  });
  return { items: parsed, errors };
}

/** A number field within [low, high]; undefined when absent and not required. */
export function number(item, field, low, high, required = false) {
  const value = item[field];
  if (value === undefined || value === null) {
    if (required) throw new ItemFault(field, `${field} is required`);
    return undefined;
  }
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new ItemFault(field, `${field} must be a number`);
  if (value < low || value > high) throw new ItemFault(field, `${field} must be between ${low} and ${high}`);
  return value;
}

/** A non-empty string field, trimmed; undefined when absent and not required. */
export function text(item, field, required = false, maxLen = 64) {
  const value = item[field];
  if (value === undefined || value === null || value === '') {
    if (required) throw new ItemFault(field, `${field} is required`);
    return undefined;
  }
  if (typeof value !== 'string' || value.length > maxLen) {
    throw new ItemFault(field, `${field} must be text of at most ${maxLen} characters`);
  }
  return value.trim();
}

// ---- subscription filters ---------------------------------------------------

/**
 * One subject of a batch: `index`, `uid`, `callsign`, `deptIcao`,
 * `destIcao`, `lat`, `lon`, `altitudeFt`, `phase`. Read from the columns
 * when asked (strings are decoded once per column, on first use), so a
 * filter that looks only at coordinates pays for nothing else.
 */
export class Subject {
  constructor(batch, index) {
    this.batch = batch;
    this.index = index;
    this.strings = undefined;
  }

  text(name) {
    this.strings ??= {};
    this.strings[name] ??= new Strings(this.batch[name]);
    return this.strings[name].get(this.index);
  }

  get uid() { return this.batch.flightUid[this.index]; }
  get callsign() { return this.text('callsign'); }
  get deptIcao() { return this.text('deptIcao'); }
  get destIcao() { return this.text('destIcao'); }
  get lat() { return this.batch.lat[this.index]; }
  get lon() { return this.batch.lon[this.index]; }
  get altitudeFt() { return this.batch.altitudeFt[this.index]; }
  get phase() { return PHASES[this.batch.phase[this.index]]; }
}

/**
 * A batch's subjects, one `Subject` moved along the rows (no allocation
 * per row: keep a value, not the subject, if you need it later).
 */
export function* subjects(batch) {
  const cursor = new Subject(batch, 0);
  cursor.strings = {};
  for (let i = 0; i < batch.flightUid.length; i++) {
    cursor.index = i;
    yield cursor;
  }
}

/**
 * The compiled filters of a subscription-filter plugin. `compileParams`
 * turns a subscriber's params (parsed JSON) into a predicate over a subject,
 * throwing the reason (a string) when they are wrong. Export its methods:
 *
 *   const filters = new Filters((params) => (s) => s.altitudeFt >= params.min_ft);
 *   export const compile = (id, params) => filters.compile(id, params);
 *   ...
 */
export class Filters {
  constructor(compileParams) {
    this.compileParams = compileParams;
    this.compiled = new Map();
  }

  compile(id, params) {
    let value;
    try {
      value = JSON.parse(params);
    } catch (e) {
      throw `params are not JSON: ${e.message}`;
    }
    this.compiled.set(id, this.compileParams(value));
  }

  release(id) {
    this.compiled.delete(id);
  }

  matchBatch(batch) {
    const subject = new Subject(batch, 0);
    const rows = batch.flightUid.length;
    const out = [];
    for (const [filter, matches] of this.compiled) {
      const hits = [];
      for (let i = 0; i < rows; i++) {
        subject.index = i;
        if (matches(subject)) hits.push(i);
      }
      out.push({ filter, subjects: hits });
    }
    return out;
  }
}

// ---- time and distance ------------------------------------------------------

/** A timestamp (ms) as ISO 8601 UTC ("2026-03-06T15:30:00Z"); undefined stays undefined. */
export function iso(ms) {
  if (ms === undefined) return undefined;
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** ISO 8601 text as milliseconds; undefined if it is not one. */
export function parseTime(value) {
  if (typeof value !== 'string') return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms;
}

/** Great-circle distance in nautical miles. */
export function distanceNm(lat1, lon1, lat2, lon2) {
  const rad = Math.PI / 180;
  const p1 = lat1 * rad;
  const p2 = lat2 * rad;
  const dp = p2 - p1;
  const dl = (lon2 - lon1) * rad;
  const a = Math.sin(dp / 2) ** 2 + Math.cos(p1) * Math.cos(p2) * Math.sin(dl / 2) ** 2;
  return 2 * EARTH_RADIUS_NM * Math.asin(Math.min(1, Math.sqrt(a)));
}
