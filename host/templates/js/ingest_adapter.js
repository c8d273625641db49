// {{NAME}}: an ingest adapter, in JavaScript. It serves
// `POST /api/swim/v1/ingest/{{NAME}}` (its manifest's `route`): it turns a
// partner's body into patches, one per item; the gateway applies each
// within what the manifest `owns`.
//
// This one takes CSV lines `CALLSIGN,LATITUDE,LONGITUDE[,ALTITUDE_FT]` and
// moves each flight there. A bad line is reported by index and field; the
// other lines apply. Throwing a string refuses the whole body (400).
//
// WIT names are camelCase here (`altitude-ft` is `altitudeFt`), variants are
// `{ tag, val }`, an absent option is `undefined`, timestamps are BigInt.

import { now } from 'vatswim:plugin/host@0.1.0';

export function describe() {
  return { name: '{{NAME}}', version: '0.1.0', summary: 'positions, one CSV line each' };
}

// `config` is the manifest's [config] table, as JSON.
export function init(config) {}

export function parse(contentType, body) {
  let text;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(body);
  } catch (e) {
    throw 'body is not UTF-8 text';
  }
  const items = [];
  const errors = [];
  const lines = text.split('\n').filter((line) => line.trim() !== '');
  lines.forEach((line, index) => {
    const cols = line.split(',').map((c) => c.trim());
    const number = (i) => (cols[i] === undefined || cols[i] === '' ? NaN : Number(cols[i]));
    const lat = number(1);
    const lon = number(2);
    if (!Number.isFinite(lat) || !Number.isFinite(lon)) {
      errors.push({ index, field: 'latitude', message: 'columns 2 and 3 must be a latitude and a longitude' });
      return;
    }
    if (Math.abs(lat) > 90 || Math.abs(lon) > 180) {
      errors.push({ index, field: 'latitude', message: 'out of range' });
      return;
    }
    const altitude = number(3);
    const position = {
      lat,
      lon,
      altitudeFt: Number.isFinite(altitude) ? Math.trunc(altitude) : undefined,
      headingDeg: undefined,
      groundspeedKts: undefined,
      verticalRateFpm: undefined,
      squawk: undefined,
      updatedAt: now(),
    };
    items.push({
      index,
      patch: {
        flight: { tag: 'callsign', val: cols[0].toUpperCase() },
        fields: [{ tag: 'position', val: position }],
      },
    });
  });
  return { items, errors };
}
