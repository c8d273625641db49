// {{NAME}}: a subscription filter, in JavaScript. WebSocket clients name it
// in their subscription (`"filters": {"plugin": {"name": "{{NAME}}",
// "params": {...}}}`); it compiles the params once per subscription and
// says, for each batch of events' flights, which match.
//
// This one keeps flights at or above an altitude: params `{"min_ft": 18000}`.
// `Filters` keeps the compiled filters and turns the batch's columns into
// rows (`subject.altitudeFt`, `subject.callsign`, `subject.lat`...).

import { Filters } from './vatswim.js';

const filters = new Filters((params) => {
  const minFt = params?.min_ft;
  if (!Number.isInteger(minFt) || minFt < -2000 || minFt > 100000) {
    throw 'params need `min_ft`, feet from -2000 to 100000';
  }
  return (subject) => subject.altitudeFt >= minFt;
});

export function describe() {
  return { name: '{{NAME}}', version: '0.1.0', summary: 'flights at or above an altitude' };
}

export function init(config) {}

export const compile = (id, params) => filters.compile(id, params);
export const release = (id) => filters.release(id);
export const matchBatch = (subjects) => filters.matchBatch(subjects);
