"""diverted: `flight.diverted` when a flight lands away from its filed
destination, in Python.

A flight lands when it goes from the air to the ground: near a field the
cycle's context knows (its departure, destination or alternate), by its
height above that field; elsewhere by its groundspeed (the rule of the
built-in arrival detector, docs/PLUGINS.md). If it lands farther than
`near_nm` from its destination, the event says where:

    {"dest": "KBOS", "landed_at": "KPVD", "diversion": "alternate",
     "distance_to_dest_nm": 41.2}

(the host adds the flight's callsign, airports and position).

`diversion` is "alternate" (at its filed alternate), "return" (back at its
departure field) or "elsewhere" (`landed_at` null). Config: `near_nm` (30),
`airborne_agl_ft` (200), `airborne_kts` (80).
"""
import json

import wit_world
from componentize_py_types import Err
from wit_world.imports import types

import vatswim

SETTINGS = {"near_nm": 30.0, "airborne_agl_ft": 200, "airborne_kts": 80}


class WitWorld(wit_world.WitWorld):
    def describe(self) -> types.Description:
        return types.Description("diverted", "0.1.0", "flight.diverted: landed away from its destination")

    def init(self, config: str) -> None:
        given = json.loads(config)
        for key, low, high in (("near_nm", 1, 200), ("airborne_agl_ft", 0, 5000), ("airborne_kts", 10, 300)):
            value = given.get(key, SETTINGS[key])
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
                raise Err(f"config `{key}` must be a number from {low} to {high}")
            SETTINGS[key] = value

    def detect(self, ctx: types.Context, changes: types.Changes) -> types.Detection:
        airports = vatswim.airports(ctx)
        events = []
        for change in vatswim.changes(changes):
            diversion = diverted(change, airports)
            if diversion is not None:
                events.append(vatswim.event("flight.diverted", change.uid, diversion))
        return vatswim.detection(events)


def diverted(change, airports):
    """The event's payload if this change is a landing away from the destination."""
    if change.before is None or change.after is None:
        return None
    was, now = change.before.position, change.after.position
    if was is None or now is None or clearly_airborne(now):
        return None
    plan = change.after.flight_plan
    if plan is None or not plan.dest_icao:
        return None
    field = nearest_known_field(now, plan, airports)
    elevation = field.elevation_ft if field else None
    if not (airborne(was, elevation) and not airborne(now, elevation)):
        return None
    dest = airports.get(plan.dest_icao)
    if dest is None:
        return None
    distance = vatswim.distance_nm(now.lat, now.lon, dest.lat, dest.lon)
    if distance <= SETTINGS["near_nm"]:
        return None
    kinds = {plan.alt_icao: "alternate", plan.dept_icao: "return"}
    landed_at = field.icao if field else None
    return {
        "dest": plan.dest_icao,
        "landed_at": landed_at,
        "diversion": kinds.get(landed_at, "elsewhere"),
        "distance_to_dest_nm": round(distance, 1),
    }


def nearest_known_field(position, plan, airports):
    """The flight plan's airport the flight is within `near_nm` of, if any."""
    best = None
    for icao in (plan.alt_icao, plan.dept_icao, plan.dest_icao):
        airport = airports.get(icao) if icao else None
        if airport is None:
            continue
        distance = vatswim.distance_nm(position.lat, position.lon, airport.lat, airport.lon)
        if distance <= SETTINGS["near_nm"] and (best is None or distance < best[0]):
            best = (distance, airport)
    return best[1] if best else None


# No field is higher than this: above it, and fast, a flight is airborne by
# either rule, and most flights of a cycle are skipped before their plan is read.
HIGHEST_FIELD_FT = 15_000


def clearly_airborne(position):
    return (position.groundspeed_kts > SETTINGS["airborne_kts"]
            and position.altitude_ft > HIGHEST_FIELD_FT + SETTINGS["airborne_agl_ft"])


def airborne(position, field_elevation_ft):
    if field_elevation_ft is not None:
        return position.altitude_ft > field_elevation_ft + SETTINGS["airborne_agl_ft"]
    return position.groundspeed_kts > SETTINGS["airborne_kts"]
