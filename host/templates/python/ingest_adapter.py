"""{{NAME}}: an ingest adapter, in Python. It serves
`POST /api/swim/v1/ingest/{{NAME}}` (its manifest's `route`): it turns a
partner's body into patches, one per item; the gateway applies each within
what the manifest `owns`.

This one takes CSV lines `CALLSIGN,LATITUDE,LONGITUDE[,ALTITUDE_FT]` and
moves each flight there. A bad line is reported by index and field; the
other lines apply. Raising `Err("why")` refuses the whole body (400).
"""
import wit_world
from wit_world.imports import host, types
from componentize_py_types import Err


class WitWorld(wit_world.WitWorld):
    def describe(self) -> types.Description:
        return types.Description("{{NAME}}", "0.1.0", "positions, one CSV line each")

    def init(self, config: str) -> None:
        # `config` is the manifest's [config] table, as JSON.
        pass

    def parse(self, content_type: str, body: bytes) -> types.Parsed:
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise Err("body is not UTF-8 text")
        items, errors = [], []
        lines = [line for line in text.splitlines() if line.strip()]
        for index, line in enumerate(lines):
            cols = [c.strip() for c in line.split(",")]
            try:
                lat, lon = float(cols[1]), float(cols[2])
            except (IndexError, ValueError):
                errors.append(types.ItemError(
                    index, "latitude", "columns 2 and 3 must be a latitude and a longitude"))
                continue
            if not (-90 <= lat <= 90 and -180 <= lon <= 180):
                errors.append(types.ItemError(index, "latitude", "out of range"))
                continue
            try:
                altitude = int(float(cols[3])) if len(cols) > 3 and cols[3] else None
            except ValueError:
                errors.append(types.ItemError(index, "altitude_ft", "column 4 must be feet"))
                continue
            position = types.PositionUpdate(
                lat=lat, lon=lon, altitude_ft=altitude, heading_deg=None,
                groundspeed_kts=None, vertical_rate_fpm=None, squawk=None,
                updated_at=host.now())
            patch = types.Patch(
                flight=types.FlightRef_Callsign(cols[0].upper()),
                fields=[types.FieldValue_Position(position)])
            items.append(types.IngestItem(index=index, patch=patch))
        return types.Parsed(items=items, errors=errors)
