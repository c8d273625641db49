// {{NAME}}: a detector, in JavaScript. Each cycle it gets the flights that
// changed and emits events (and may patch the sections its manifest `owns`).
//
// This one emits `flight.fast` when a flight's groundspeed passes the limit
// in the manifest's `[config]` (`limit_kts`), once as it crosses.
// `vatswim.js` turns the cycle's columns into rows
// (`after.position.groundspeedKts`) and builds the events.

import { changes, event } from './vatswim.js';

let limitKts = 480;

export function describe() {
  return { name: '{{NAME}}', version: '0.1.0', summary: 'groundspeed above a limit' };
}

// `config` is the manifest's [config] table, as JSON; throwing refuses it.
export function init(config) {
  const limit = JSON.parse(config).limit_kts ?? 480;
  if (!Number.isInteger(limit) || limit < 1 || limit > 2000) {
    throw 'config `limit_kts` must be a number of knots from 1 to 2000';
  }
  limitKts = limit;
}

export function detect(ctx, batch) {
  const events = [];
  for (const { uid, before, after } of changes(batch)) {
    const was = before?.position;
    const now = after?.position;
    if (now && now.groundspeedKts > limitKts && (!was || was.groundspeedKts <= limitKts)) {
      events.push(event('flight.fast', uid, { groundspeed_kts: now.groundspeedKts }));
    }
  }
  return { events, patches: [] };
}
