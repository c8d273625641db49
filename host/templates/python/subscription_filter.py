"""{{NAME}}: a subscription filter, in Python. WebSocket clients name it in
their subscription (`"filters": {"plugin": {"name": "{{NAME}}", "params":
{...}}}`); it compiles the params once per subscription and says, for each
batch of events' flights, which match.

This one keeps flights at or above an altitude: params `{"min_ft": 18000}`.
`vatswim.Filters` keeps the compiled filters and turns the batch's columns
into rows (`subject.altitude_ft`, `subject.callsign`, `subject.lat`...).
"""
import wit_world
from componentize_py_types import Err
from wit_world.imports import types

import vatswim


def compile_params(params):
    """A subscriber's params (parsed JSON) as a predicate over a subject."""
    min_ft = params.get("min_ft") if isinstance(params, dict) else None
    if isinstance(min_ft, bool) or not isinstance(min_ft, int) or not -2000 <= min_ft <= 100000:
        raise Err("params need `min_ft`, feet from -2000 to 100000")
    return lambda subject: subject.altitude_ft >= min_ft


FILTERS = vatswim.Filters(compile_params)


class WitWorld(wit_world.WitWorld):
    def describe(self) -> types.Description:
        return types.Description("{{NAME}}", "0.1.0", "flights at or above an altitude")

    def init(self, config: str) -> None:
        pass

    def compile(self, id: int, params: str) -> None:
        FILTERS.compile(id, params)

    def release(self, id: int) -> None:
        FILTERS.release(id)

    def match_batch(self, subjects: types.Subjects) -> list[types.Matches]:
        return FILTERS.match_batch(subjects)
