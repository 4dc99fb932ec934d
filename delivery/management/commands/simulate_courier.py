"""``manage.py simulate_courier <delivery_id>``: drive a delivery's assigned courier from its last
position (or the pickup) to the drop-off over a real socket at 1 Hz, then complete it with the
buyer's PIN. Watch it move in the console (/console/, sign in as the buyer) or on any socket
subscribed to ``delivery:<id>``."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import datetime
from datetime import timezone as dt_timezone

import websockets
from django.core.management.base import BaseCommand, CommandError
from rest_framework_simplejwt.tokens import AccessToken

from delivery import geo, services
from delivery.events import DELIVERY_TOPIC
from delivery.models import Delivery


class Command(BaseCommand):
    help = "Drive a delivery's courier along a straight route over the socket at 1 Hz."

    def add_arguments(self, parser) -> None:
        parser.add_argument("delivery_id")
        parser.add_argument("--url", default="http://127.0.0.1:8000")
        parser.add_argument("--speed", type=float, default=8.0, help="metres per second")
        parser.add_argument("--no-complete", action="store_true", help="stop at the door")

    def handle(self, *args, **opts) -> None:
        d = Delivery.objects.select_related("courier").filter(pk=opts["delivery_id"]).first()
        if d is None or d.courier is None:
            raise CommandError("no such delivery with an assigned courier")
        if d.status == "assigned":
            services.delivery_set_status(courier=d.courier, delivery_id=d.pk, status="picked_up")
        start = (d.last_lat or d.pickup_lat, d.last_lon or d.pickup_lon)
        total = geo.haversine_m(*start, d.dropoff_lat, d.dropoff_lon)
        steps = max(1, int(total / opts["speed"]))
        token = str(AccessToken.for_user(d.courier))
        ws_url = opts["url"].rstrip("/").replace("http", "ws", 1) + "/ws/"
        topic = DELIVERY_TOPIC.name(d.pk)
        heading = geo.bearing_deg(*start, d.dropoff_lat, d.dropoff_lon)

        async def drive() -> None:
            async with websockets.connect(ws_url) as ws:
                await ws.send(json.dumps({"op": "auth", "ref": "a", "token": token}))
                await ws.recv()
                for i in range(1, steps + 1):
                    lat, lon = geo.interpolate(*start, d.dropoff_lat, d.dropoff_lon, i / steps)
                    point = {"ts": datetime.now(dt_timezone.utc).isoformat().replace("+00:00", "Z"), "lat": lat,
                             "lon": lon, "accuracy_m": 6.0, "speed_mps": opts["speed"], "heading_deg": heading}
                    await ws.send(json.dumps({"op": "command", "ref": str(i), "topic": topic, "name": "location", "data": point}))
                    while True:
                        frame = json.loads(await ws.recv())
                        if frame.get("op") == "reply" and frame.get("ref") == str(i):
                            break
                    left = geo.haversine_m(lat, lon, d.dropoff_lat, d.dropoff_lon)
                    self.stdout.write(f"\r{i}/{steps}  {left:7.0f} m to go  ", ending="")
                    self.stdout.flush()
                    await asyncio.sleep(max(0.0, 1.0 - 0.0))
        t0 = time.monotonic()
        asyncio.run(drive())
        if not opts["no_complete"]:
            d.refresh_from_db()
            services.delivery_complete(courier=d.courier, delivery_id=d.pk, pin=d.pin)
        self.stdout.write(f"\ndone in {time.monotonic() - t0:.0f} s")
