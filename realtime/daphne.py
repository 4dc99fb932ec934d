"""Run Daphne for the gateway: ``python -m realtime.daphne [daphne options] core.asgi:application``.

Same command line as ``daphne``, with one change to autobahn's protocol options: a connection
that breaks a limit (``--websocket-max-message-size``) is closed with a close frame carrying the
code (1009 for a message too big) instead of autobahn's default of dropping TCP
(``failByDrop=True``), so that clients learn why.
"""

from daphne.ws_protocol import WebSocketFactory

_set_options = WebSocketFactory.setProtocolOptions


def _set_protocol_options(self, *args, **kwargs):
    kwargs.setdefault("failByDrop", False)
    return _set_options(self, *args, **kwargs)


WebSocketFactory.setProtocolOptions = _set_protocol_options


def main() -> None:
    from daphne.cli import CommandLineInterface

    CommandLineInterface.entrypoint()


if __name__ == "__main__":
    main()
