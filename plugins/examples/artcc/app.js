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

// SpiderMonkey runs interpreted inside a component (no JIT), so each point
// test must be cheap: a ring is a flat Float64Array, and each centre has a
// grid of 0.25-degree cells, each known to be inside, outside, or crossed
// by the boundary; only points in crossed cells are ray-cast.
const CELL_DEG = 0.25;
const OUTSIDE = 0, INSIDE = 1, CROSSED = 2;

/** Even-odd ray casting: whether (lon, lat) is inside the flat ring [x0, y0, x1, y1...]. */
function inRing(lon, lat, ring) {
  let within = false;
  const n = ring.length;
  for (let i = 0, j = n - 2; i < n; j = i, i += 2) {
    const yi = ring[i + 1];
    const yj = ring[j + 1];
    if (yi > lat !== yj > lat) {
      const xi = ring[i];
      if (lon < ((ring[j] - xi) * (lat - yi)) / (yj - yi) + xi) within = !within;
    }
  }
  return within;
}

/** A centre's rings, bounding box and grid. */
function area(rings) {
  const flat = rings.map((ring) => Float64Array.from(ring.flat()));
  let [west, south, east, north] = [Infinity, Infinity, -Infinity, -Infinity];
  for (const [lon, lat] of rings.flat()) {
    west = Math.min(west, lon);
    east = Math.max(east, lon);
    south = Math.min(south, lat);
    north = Math.max(north, lat);
  }
  const cols = Math.ceil((east - west) / CELL_DEG) + 1;
  const rows = Math.ceil((north - south) / CELL_DEG) + 1;
  const inside = (lon, lat) => flat.some((ring) => inRing(lon, lat, ring));
  const grid = new Uint8Array(cols * rows);
  // Every cell a boundary edge passes through (sampled at a quarter cell,
  // widened by one cell so no crossing is missed) is CROSSED.
  for (const ring of rings) {
    for (let k = 0; k + 1 < ring.length; k++) {
      const [x0, y0] = ring[k];
      const [x1, y1] = ring[k + 1];
      const steps = Math.ceil(Math.hypot(x1 - x0, y1 - y0) / (CELL_DEG / 4)) + 1;
      for (let s = 0; s <= steps; s++) {
        const c = Math.floor((x0 + ((x1 - x0) * s) / steps - west) / CELL_DEG);
        const r = Math.floor((y0 + ((y1 - y0) * s) / steps - south) / CELL_DEG);
        for (let dr = -1; dr <= 1; dr++) {
          for (let dc = -1; dc <= 1; dc++) {
            if (r + dr >= 0 && r + dr < rows && c + dc >= 0 && c + dc < cols) grid[(r + dr) * cols + c + dc] = CROSSED;
          }
        }
      }
    }
  }
  // Any other cell lies wholly on one side: its centre says which.
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const cell = r * cols + c;
      if (grid[cell] !== CROSSED) {
        grid[cell] = inside(west + (c + 0.5) * CELL_DEG, south + (r + 0.5) * CELL_DEG) ? INSIDE : OUTSIDE;
      }
    }
  }
  return { west, south, east, north, cols, grid, inside };
}

/** Whether (lon, lat) is inside the centre. */
function contains(a, lon, lat) {
  if (lon < a.west || lon > a.east || lat < a.south || lat > a.north) return false;
  const cell = a.grid[Math.floor((lat - a.south) / CELL_DEG) * a.cols + Math.floor((lon - a.west) / CELL_DEG)];
  return cell === CROSSED ? a.inside(lon, lat) : cell === INSIDE;
}

// Built on first use: an instance pays only for the centres asked for.
const AREAS = new Map();
function areaOf(id) {
  if (!AREAS.has(id)) AREAS.set(id, area(BOUNDARIES[id]));
  return AREAS.get(id);
}

const filters = new Filters((params) => {
  const asked = params?.artcc;
  const ids = (Array.isArray(asked) ? asked : [asked]).map((id) => (typeof id === 'string' ? id.trim().toUpperCase() : id));
  if (ids.length === 0 || ids.length > 20 || ids.some((id) => typeof id !== 'string')) {
    throw 'params need `artcc`: an ARTCC id ("ZNY") or a list of up to 20';
  }
  const areas = ids.map((id) => {
    const known = id.replace(/^K(Z..)$/, '$1');
    if (!Object.hasOwn(BOUNDARIES, known)) {
      throw `unknown ARTCC ${JSON.stringify(id)}; known: ${Object.keys(BOUNDARIES).join(', ')}`;
    }
    return areaOf(known);
  });
  return (subject) => {
    const lat = subject.lat;
    const lon = subject.lon;
    return areas.some((a) => contains(a, lon, lat));
  };
});

export function describe() {
  return { name: 'artcc', version: '0.1.0', summary: 'flights inside named US ARTCCs' };
}

export function init(config) {}

export const compile = (id, params) => filters.compile(id, params);
export const release = (id) => filters.release(id);
export const matchBatch = (subjects) => filters.matchBatch(subjects);
