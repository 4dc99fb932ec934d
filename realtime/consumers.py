from channels.generic.websocket import AsyncWebsocketConsumer


class GatewayConsumer(AsyncWebsocketConsumer):
    pass
