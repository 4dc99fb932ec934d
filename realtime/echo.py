"""An echo WebSocket endpoint for protocol-conformance runs (Autobahn cases through ``kosoku``).

Routed at ``/ws/echo/`` only when ``settings.WS_ECHO_ENDPOINT`` is true, which only the test
settings (``core.settings_test``) and the benchmark's settings set; production settings never
route it. It sends every message back as it came (text as text, binary as binary, empty ones
too) through the same ASGI server and launcher as the gateway, so the run measures the server's
WebSocket implementation, not the gateway protocol.
"""

from __future__ import annotations

from channels.generic.websocket import AsyncWebsocketConsumer


class EchoConsumer(AsyncWebsocketConsumer):
    """Accept any connection and echo each message unchanged."""

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if text_data is not None:
            await self.send(text_data=text_data)
        elif bytes_data is not None:
            await self.send(bytes_data=bytes_data)
