// artcc: flights inside named ARTCCs, in JavaScript: a subscription filter.
//
// A WebSocket client subscribes with
//   "filters": {"plugin": {"name": "artcc", "params": {"artcc": "ZNY"}}}
// (or {"artcc": ["ZNY", "ZDC"]}) and gets only the events of flights whose
// position lies inside one of those centres' boundaries (the 20 US ARTCCs
// over the contiguous states, `boundaries.js`). Unknown ids are refused
// with the list of known ones. Ids may carry VAT-Spy's K prefix ("KZNY").

import { Filters } from './vatswim.js';
import { BOUNDARIES } from './boundaries.js';

/** A ring's bounding box, so most points are decided by four comparisons. */
function box(ring) {
  let [west, south, east, north] = [Infinity, Infinity, -Infinity, -Infinity];
  for (const [lon, lat] of ring) {
    west = Math.min(west, lon);
    east = Math.max(east, lon);
    south = Math.min(south, lat);
    north = Math.max(north, lat);
  }
  return { west, south, east, north, ring };
}

const AREAS = new Map(Object.entries(BOUNDARIES).map(([id, rings]) => [id, rings.map(box)]));

/** Even-odd ray casting: whether (lon, lat) is inside the ring. */
function inside(lon, lat, ring) {
  let within = false;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
    const [xi, yi] = ring[i];
    const [xj, yj] = ring[j];
    if (yi > lat !== yj > lat && lon < ((xj - xi) * (lat - yi)) / (yj - yi) + xi) within = !within;
  }
  return within;
}

function inArea(areas, lon, lat) {
  return areas.some((a) => lon >= a.west && lon <= a.east && lat >= a.south && lat <= a.north && inside(lon, lat, a.ring));
}

const filters = new Filters((params) => {
  const asked = params?.artcc;
  const ids = (Array.isArray(asked) ? asked : [asked]).map((id) => (typeof id === 'string' ? id.trim().toUpperCase() : id));
  if (ids.length === 0 || ids.length > 20 || ids.some((id) => typeof id !== 'string')) {
    throw 'params need `artcc`: an ARTCC id ("ZNY") or a list of up to 20';
  }
  const areas = [];
  for (const id of ids) {
    const known = AREAS.get(id.replace(/^K(Z..)$/, '$1'));
    if (!known) throw `unknown ARTCC ${JSON.stringify(id)}; known: ${[...AREAS.keys()].join(', ')}`;
    areas.push(...known);
  }
  return (subject) => Number.isFinite(subject.lat) && inArea(areas, subject.lon, subject.lat);
});

export function describe() {
  return { name: 'artcc', version: '0.1.0', summary: 'flights inside named US ARTCCs' };
}

export function init(config) {}

export const compile = (id, params) => filters.compile(id, params);
export const release = (id) => filters.release(id);
export const matchBatch = (subjects) => filters.matchBatch(subjects);
