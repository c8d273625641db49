"""Helpers for VATSWIM plugins written in Python (componentize-py).

What `vatswim-plugin-api` gives Rust authors, for Python: typed rows over a
cycle's columns (so a detector never indexes raw columns or checks
sentinels), builders for events, patches and filter matches, per-item
errors for ingest adapters, and time and distance helpers. The WIT contract
(`wit/types.wit`) is the reference for every field; this module only makes
it pleasant. Copy it beside `app.py` (`swim plugins new` does).

    import vatswim
    for change in vatswim.changes(changes):
        after = change.after
        if after and after.times and after.times.on_utc:
            ...
"""
import json
import math
from collections import namedtuple
from datetime import datetime, timezone

from componentize_py_types import Err
from wit_world.imports import types

# Absent values inside a present section (wit/types.wit, `section-bits`).
NO_TIME = -(1 << 63)
NO_SQUAWK = 0xFFFF
NO_INT = -(1 << 31)

# `section-bits`: which sections a row has.
EXISTS, IDENTITY, FLIGHT_PLAN, POSITION, PROGRESS = 1, 2, 4, 8, 16
TIMES, TMI, TRACK, METERING = 32, 64, 128, 256

PHASES = ("prefile", "taxiing", "departed", "enroute", "descending", "arrived", "disconnected")

MINUTE_MS = 60_000
HOUR_MS = 60 * MINUTE_MS
EARTH_RADIUS_NM = 3440.065


# ---- reading a cycle ------------------------------------------------------

Identity = namedtuple("Identity", "callsign cid")
FlightPlan = namedtuple(
    "FlightPlan",
    "dept_icao dest_icao alt_icao aircraft_type altitude_ft tas_kts route remarks rules deptime",
)
Position = namedtuple(
    "Position",
    "lat lon altitude_ft heading_deg groundspeed_kts vertical_rate_fpm squawk updated_at",
)
Progress = namedtuple("Progress", "phase is_active dist_to_dest_nm pct_complete eta_utc")
Times = namedtuple("Times", "out_utc off_utc on_utc in_utc")
Tmi = namedtuple(
    "Tmi", "gs_held ctl_type program_id slot_time_utc edct_utc delay_minutes eta_utc"
)
Track = namedtuple("Track", "source squawk updated_at")
Metering = namedtuple(
    "Metering",
    "sta_utc metering_time_utc metering_point delay_minutes frozen stream status",
)


def time(value):
    """A timestamp column's value: milliseconds, or None when absent."""
    return None if value == NO_TIME else value


def _int(value):
    return None if value == NO_INT else value


def _float(value):
    return None if math.isnan(value) else value


def _at(column, row, absent=None):
    """Row `row` of a column, or `absent` when the manifest's `reads` leaves
    the column out (it arrives empty)."""
    return column[row] if row < len(column) else absent


def _squawk(value):
    return None if value == NO_SQUAWK else value


class Strings:
    """A string column: `strings[i]` is row i's text (decoded once, lazily)."""

    __slots__ = ("_column", "_values")

    def __init__(self, column):
        self._column = column
        self._values = None

    def __getitem__(self, row):
        if self._values is None:
            self._values = _unpack(self._column)
        return self._values[row] if row < len(self._values) else ""


def _unpack(column):
    text, ends = column.text, column.ends
    # `ends` count bytes; for ASCII text (callsigns, ICAO codes) that is
    # also characters, and slicing the str avoids a copy.
    data = text if len(text) == (ends[-1] if ends else 0) else text.encode("utf-8")
    values, start = [], 0
    for end in ends:
        piece = data[start:end]
        values.append(piece if isinstance(piece, str) else piece.decode("utf-8"))
        start = end
    return values


class _Rows:
    """One side of a change, with each string column wrapped once."""

    __slots__ = ("rows", "strings")

    def __init__(self, rows):
        self.rows = rows
        self.strings = {}

    def text(self, section, name):
        key = (section, name)
        column = self.strings.get(key)
        if column is None:
            column = self.strings[key] = Strings(getattr(getattr(self.rows, section), name))
        return column


class Flight:
    """One flight on one side of a change. Each section is None when the
    flight does not have it or the manifest's `reads` leaves it out."""

    __slots__ = ("_rows", "_row")

    def __init__(self, rows, row):
        self._rows = rows
        self._row = row

    def has(self, bit):
        return self._rows.rows.sections[self._row] & bit != 0

    @property
    def uid(self):
        return self._rows.rows.flight_uid[self._row]

    @property
    def identity(self):
        if not self.has(IDENTITY):
            return None
        r = self._row
        return Identity(self._rows.text("identity", "callsign")[r], _at(self._rows.rows.identity.cid, r, 0))

    @property
    def flight_plan(self):
        if not self.has(FLIGHT_PLAN):
            return None
        c, r, text = self._rows.rows.flight_plan, self._row, self._rows.text
        return FlightPlan(
            text("flight_plan", "dept_icao")[r],
            text("flight_plan", "dest_icao")[r],
            text("flight_plan", "alt_icao")[r],
            text("flight_plan", "aircraft_type")[r],
            _int(_at(c.altitude_ft, r)),
            _int(_at(c.tas_kts, r)),
            text("flight_plan", "route")[r],
            text("flight_plan", "remarks")[r],
            text("flight_plan", "rules")[r],
            text("flight_plan", "deptime")[r],
        )

    @property
    def position(self):
        if not self.has(POSITION):
            return None
        c, r = self._rows.rows.position, self._row
        return Position(
            _at(c.lat, r), _at(c.lon, r), _at(c.altitude_ft, r), _at(c.heading_deg, r), _at(c.groundspeed_kts, r),
            _at(c.vertical_rate_fpm, r), _squawk(_at(c.squawk, r)), _at(c.updated_at, r),
        )

    @property
    def progress(self):
        if not self.has(PROGRESS):
            return None
        c, r = self._rows.rows.progress, self._row
        return Progress(
            PHASES[_at(c.phase, r, 0)], _at(c.is_active, r) == 1, _float(_at(c.dist_to_dest_nm, r, math.nan)),
            _float(_at(c.pct_complete, r, math.nan)), time(_at(c.eta_utc, r)),
        )

    @property
    def times(self):
        if not self.has(TIMES):
            return None
        c, r = self._rows.rows.times, self._row
        return Times(time(_at(c.out_utc, r)), time(_at(c.off_utc, r)), time(_at(c.on_utc, r)), time(_at(c.in_utc, r)))

    @property
    def tmi(self):
        if not self.has(TMI):
            return None
        c, r = self._rows.rows.tmi, self._row
        return Tmi(
            _at(c.gs_held, r) == 1, ("", "gs", "gdp")[_at(c.ctl_type, r, 0)] or None, _at(c.program_id, r) or None,
            time(_at(c.slot_time_utc, r)), time(_at(c.edct_utc, r)), _int(_at(c.delay_minutes, r)),
            time(_at(c.eta_utc, r)),
        )

    @property
    def track(self):
        if not self.has(TRACK):
            return None
        c, r = self._rows.rows.track, self._row
        return Track(self._rows.text("track", "source")[r], _squawk(_at(c.squawk, r)), _at(c.updated_at, r))

    @property
    def metering(self):
        if not self.has(METERING):
            return None
        c, r, text = self._rows.rows.metering, self._row, self._rows.text
        return Metering(
            time(_at(c.sta_utc, r)), time(_at(c.metering_time_utc, r)), text("metering", "metering_point")[r],
            _int(_at(c.delay_minutes, r)), _at(c.frozen, r) == 1, text("metering", "stream")[r],
            text("metering", "status")[r],
        )


Change = namedtuple("Change", "uid before after")
Change.__doc__ = "One flight's change: `before` is None for a new flight, `after` for a deleted one."


def changes(batch):
    """The cycle's changes (`types.Changes`) as `Change` rows."""
    before, after = _Rows(batch.before), _Rows(batch.after)
    for row, uid in enumerate(batch.after.flight_uid):
        yield Change(uid, _side(before, row), _side(after, row))


def _side(rows, row):
    flight = Flight(rows, row)
    return flight if flight.has(EXISTS) else None


def airports(ctx):
    """The context's airports by ICAO code (the manifest must read "airports")."""
    return {a.icao: a for a in ctx.airports}


# ---- writing --------------------------------------------------------------


def event(kind, flight_uid=None, payload=None):
    """An event for the change feed; `payload` is a dict of extra fields."""
    return types.Event(kind, flight_uid, json.dumps(payload or {}, separators=(",", ":")))


def flight(ref):
    """A flight reference: an int is a uid, a str a callsign."""
    if isinstance(ref, int):
        return types.FlightRef_Uid(ref)
    return types.FlightRef_Callsign(ref.strip().upper())


def patch(ref, *fields):
    """New values for fields of one flight (`types.FieldValue_*`)."""
    return types.Patch(flight(ref), list(fields))


def detection(events=(), patches=()):
    return types.Detection(list(events), list(patches))


# ---- ingest adapters ------------------------------------------------------


class ItemFault(Exception):
    """Raised while reading one item: reported for that item by index, the
    other items apply."""

    def __init__(self, field, message):
        super().__init__(message)
        self.field = field
        self.message = message


def json_items(body, key, max_items):
    """A JSON object body's list `key`, or `Err` (400, nothing applies) when
    the body is not such an object or holds more than `max_items`."""
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, ValueError) as e:
        raise Err(f"body is not JSON: {e}")
    if not isinstance(document, dict):
        raise Err("body must be a JSON object")
    items = document.get(key)
    if not isinstance(items, list):
        raise Err(f"`{key}` must be an array")
    if len(items) > max_items:
        raise Err(f"{len(items)} items in `{key}`; at most {max_items} per request")
    return document, items


def parse_each(items, read):
    """Calls `read(item)` for each item: a `types.Patch` is kept, an
    `ItemFault` (or a non-object item) becomes that item's error."""
    parsed, errors = [], []
    for index, item in enumerate(items):
        try:
            if not isinstance(item, dict):
                raise ItemFault("", "each item must be an object")
            parsed.append(types.IngestItem(index, read(item)))
        except ItemFault as fault:
            errors.append(types.ItemError(index, fault.field, fault.message))
    return types.Parsed(parsed, errors)


def number(item, field, low, high, required=False):
    """A number field within [low, high]; None when absent and not required."""
    value = item.get(field)
    if value is None:
        if required:
            raise ItemFault(field, f"{field} is required")
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ItemFault(field, f"{field} must be a number")
    if not low <= value <= high:
        raise ItemFault(field, f"{field} must be between {low} and {high}")
    return value


def text(item, field, required=False, max_len=64):
    """A non-empty string field, trimmed; None when absent and not required."""
    value = item.get(field)
    if value is None or value == "":
        if required:
            raise ItemFault(field, f"{field} is required")
        return None
    if not isinstance(value, str) or len(value) > max_len:
        raise ItemFault(field, f"{field} must be text of at most {max_len} characters")
    return value.strip()


def squawk(item, field):
    """A four-digit octal transponder code ("7700") as the WIT's decimal
    digits (7700); None when absent."""
    value = text(item, field)
    if value is None:
        return None
    if len(value) != 4 or any(c not in "01234567" for c in value):
        raise ItemFault(field, f"{field} must be four octal digits")
    return int(value)


# ---- subscription filters -------------------------------------------------

Subject = namedtuple("Subject", "index uid callsign dept_icao dest_icao lat lon altitude_ft phase")


def subjects(batch):
    """A batch's subjects (`types.Subjects`) as `Subject` rows."""
    callsign = Strings(batch.callsign)
    dept, dest = Strings(batch.dept_icao), Strings(batch.dest_icao)
    for i, uid in enumerate(batch.flight_uid):
        yield Subject(
            i, uid, callsign[i], dept[i], dest[i], batch.lat[i], batch.lon[i],
            batch.altitude_ft[i], PHASES[batch.phase[i]],
        )


class Filters:
    """The compiled filters of a subscription-filter plugin. `compile_params`
    turns a subscriber's params (parsed JSON) into a predicate over a
    `Subject`, raising `Err` with the reason when they are wrong."""

    def __init__(self, compile_params):
        self._compile_params = compile_params
        self._compiled = {}

    def compile(self, filter_id, params):
        try:
            value = json.loads(params)
        except ValueError as e:
            raise Err(f"params are not JSON: {e}")
        self._compiled[filter_id] = self._compile_params(value)

    def release(self, filter_id):
        self._compiled.pop(filter_id, None)

    def match_batch(self, batch):
        rows = list(subjects(batch))
        return [
            types.Matches(filter_id, [s.index for s in rows if matches(s)])
            for filter_id, matches in self._compiled.items()
        ]


# ---- time and distance ----------------------------------------------------


def iso(ms):
    """A timestamp as ISO 8601 UTC ("2026-03-06T15:30:00Z"); None stays None."""
    if ms is None:
        return None
    return datetime.fromtimestamp(ms / 1000, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(value):
    """ISO 8601 text ("2026-03-06T15:30:00.000Z") as milliseconds; None if it is not one."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return int(parsed.timestamp() * 1000)


def distance_nm(lat1, lon1, lat2, lon2):
    """Great-circle distance in nautical miles."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_NM * math.asin(min(1.0, math.sqrt(a)))
