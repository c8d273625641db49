"""A WebSocket client written the way PERTI's Python SDK (swim_client) is:
the `websockets` package, the key as ?api_key=, a subscribe message with
channels and filters, messages dispatched on `type`, payloads read with
the SDK's field names. Prints one JSON summary line and exits 0 when it saw
what a PERTI client needs; exits 1 otherwise.

usage: perti_style_client.py WS_URL API_KEY
"""

import asyncio
import json
import sys
from urllib.parse import urlencode

import websockets


async def main(url: str, api_key: str) -> int:
    full_url = f"{url}?{urlencode({'api_key': api_key})}"
    seen = {"positions": 0, "departed": None, "pong": False, "heartbeat": None}
    async with websockets.connect(full_url, ping_interval=20, ping_timeout=10) as ws:
        async def send(data):
            await ws.send(json.dumps(data))

        await send({
            "action": "subscribe",
            "channels": ["flight.departed", "flight.positions", "system.heartbeat"],
            "filters": {},
        })
        await send({"action": "ping"})
        async for message in ws:
            msg = json.loads(message)
            msg_type = msg.get("type", "")
            data = msg.get("data", {})
            if msg_type == "connected":
                seen["client_id"] = data.get("client_id", "")
                seen["version"] = data.get("version", "")
            elif msg_type == "subscribed":
                seen["subscribed"] = msg.get("channels")
            elif msg_type == "pong":
                seen["pong"] = True
            elif msg_type == "error":
                print(json.dumps({"error": msg}))
                return 1
            elif msg_type == "flight.positions":
                positions = data.get("positions", [])
                first = positions[0] if positions else {}
                seen["positions"] += 1
                seen["position_fields"] = {
                    "callsign": first.get("callsign", ""),
                    "latitude": float(first.get("latitude", 0)),
                    "longitude": float(first.get("longitude", 0)),
                    "altitude_ft": int(first.get("altitude_ft", 0)),
                    "groundspeed_kts": int(first.get("groundspeed_kts", 0)),
                    "heading_deg": int(first.get("heading_deg", 0)),
                }
                seen["count_matches"] = data.get("count", len(positions)) == len(positions)
            elif msg_type == "flight.departed":
                seen["departed"] = {
                    "seq": msg.get("seq"),
                    "timestamp": msg.get("timestamp"),
                    "callsign": data.get("callsign", ""),
                    "flight_uid": data.get("flight_uid", ""),
                    "dep": data.get("dep"),
                    "arr": data.get("arr"),
                    "off_utc": data.get("off_utc"),
                }
            elif msg_type == "system.heartbeat":
                seen["heartbeat"] = {
                    "connected_clients": data.get("connected_clients", 0),
                    "uptime_seconds": data.get("uptime_seconds", 0),
                }
            if seen["departed"] and seen["positions"] >= 2 and seen["pong"] and seen["heartbeat"]:
                print(json.dumps(seen))
                return 0
    print(json.dumps(seen))
    return 1


if __name__ == "__main__":
    sys.exit(asyncio.run(asyncio.wait_for(main(sys.argv[1], sys.argv[2]), 90)))
