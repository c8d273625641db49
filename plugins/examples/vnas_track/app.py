"""vnas_track: vNAS track data (`POST /api/swim/v1/ingest/vnas/track`), in
Python: the body PERTI's vNAS connector sends (PERTI's
`integrations/connectors/vnas/example_payload.json`):

    {"facility_id": "ZDC", "system_type": "ERAM",
     "timestamp": "2026-03-06T15:30:00.000Z",
     "tracks": [{"callsign": "UAL123", "beacon_code": "1234",
                 "position": {"latitude": 40.64, "longitude": -73.77,
                              "altitude_ft": 35000, "ground_speed_kts": 450,
                              "track_deg": 270, "vertical_rate_fpm": -500},
                 "track_quality": {"source": "radar", "mode_c": true},
                 "timestamp": "2026-03-06T15:30:00.000Z"}]}

Each track moves its flight (found by callsign) and records who saw it
(`track.source` "vnas:ZDC/ERAM"). As PERTI's endpoint: `facility_id` is
required, `system_type` is ERAM or STARS, at most `max_items` tracks (1000),
and a track without a callsign or with a bad coordinate is reported by its
index while the others apply. Position fields a track leaves out keep the
flight's current values.
"""
import json

import wit_world
from componentize_py_types import Err
from wit_world.imports import host, types

import vatswim

SETTINGS = {"max_items": 1000}
SYSTEMS = ("ERAM", "STARS")


class WitWorld(wit_world.WitWorld):
    def describe(self) -> types.Description:
        return types.Description("vnas_track", "0.1.0", "vNAS track data: {\"facility_id\", \"tracks\":[...]}")

    def init(self, config: str) -> None:
        max_items = json.loads(config).get("max_items", 1000)
        if isinstance(max_items, bool) or not isinstance(max_items, int) or max_items < 1:
            raise Err("config `max_items` must be a positive number")
        SETTINGS["max_items"] = max_items

    def parse(self, content_type: str, body: bytes) -> types.Parsed:
        document, tracks = vatswim.json_items(body, "tracks", SETTINGS["max_items"])
        facility = document.get("facility_id")
        if not isinstance(facility, str) or not facility.strip():
            raise Err("facility_id is required")
        system = document.get("system_type") or ""
        if not isinstance(system, str) or (system and system.upper() not in SYSTEMS):
            raise Err("system_type must be ERAM or STARS")
        source = f"vnas:{facility.strip().upper()}" + (f"/{system.upper()}" if system else "")
        sent_at = vatswim.parse_time(document.get("timestamp")) or host.now()
        return vatswim.parse_each(tracks, lambda track: track_patch(track, source, sent_at))


def track_patch(track, source, sent_at):
    """The patch for one track: its position and who reported it."""
    callsign = vatswim.text(track, "callsign", required=True, max_len=10)
    # PERTI's connector nests the position; a flat track is read the same.
    position = track.get("position", track)
    if not isinstance(position, dict):
        raise vatswim.ItemFault("position", "position must be an object")
    lat = vatswim.number(position, "latitude", -90, 90, required=True)
    lon = vatswim.number(position, "longitude", -180, 180, required=True)
    altitude = vatswim.number(position, "altitude_ft", -2000, 100000)
    speed = vatswim.number(position, "ground_speed_kts", 0, 2000)
    heading = vatswim.number(position, "track_deg", 0, 360)
    climb = vatswim.number(position, "vertical_rate_fpm", -30000, 30000)
    squawk = vatswim.squawk(track, "beacon_code")
    seen_at = vatswim.parse_time(track.get("timestamp")) or sent_at
    update = types.PositionUpdate(
        lat=float(lat), lon=float(lon), altitude_ft=whole(altitude),
        heading_deg=None if heading is None else int(heading) % 360,
        groundspeed_kts=whole(speed), vertical_rate_fpm=whole(climb), squawk=squawk,
        updated_at=seen_at)
    return vatswim.patch(
        callsign,
        types.FieldValue_Position(update),
        types.FieldValue_Track(types.Track(source, squawk, seen_at)),
    )


def whole(value):
    return None if value is None else int(value)
