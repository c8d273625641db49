"""{{NAME}}: a detector, in Python. Each cycle it gets the flights that
changed and emits events (and may patch the sections its manifest `owns`).

This one emits `flight.fast` when a flight's groundspeed passes the limit in
the manifest's `[config]` (`limit_kts`), once as it crosses. `vatswim.py`
turns the cycle's columns into rows (`change.after.position.groundspeed_kts`)
and builds the events.
"""
import json

import wit_world
from componentize_py_types import Err
from wit_world.imports import types

import vatswim

# One instance serves every call: settings live at module level.
SETTINGS = {"limit_kts": 480}


class WitWorld(wit_world.WitWorld):
    def describe(self) -> types.Description:
        return types.Description("{{NAME}}", "0.1.0", "groundspeed above a limit")

    def init(self, config: str) -> None:
        # `config` is the manifest's [config] table, as JSON.
        limit = json.loads(config).get("limit_kts", 480)
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 2000:
            raise Err("config `limit_kts` must be a number of knots from 1 to 2000")
        SETTINGS["limit_kts"] = limit

    def detect(self, ctx: types.Context, changes: types.Changes) -> types.Detection:
        limit = SETTINGS["limit_kts"]
        events = []
        for change in vatswim.changes(changes):
            before = change.before.position if change.before else None
            after = change.after.position if change.after else None
            crossed = (after is not None and after.groundspeed_kts > limit
                       and (before is None or before.groundspeed_kts <= limit))
            if crossed:
                events.append(vatswim.event(
                    "flight.fast", change.uid, {"groundspeed_kts": after.groundspeed_kts}))
        return vatswim.detection(events)
