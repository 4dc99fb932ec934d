"""docs/asyncapi.yaml must describe the gateway the code implements."""

import re
from pathlib import Path

import yaml

from realtime import consumers, registry

ROOT = Path(__file__).resolve().parents[2]
DOC = yaml.safe_load((ROOT / "docs" / "asyncapi.yaml").read_text())


def test_documented_ops_are_exactly_the_gateway_ops():
    assert set(DOC["x-ops"]) == set(consumers.GatewayConsumer.OPS)
    client_messages = {n for n in DOC["channels"]["gateway"]["messages"] if n not in ("reply", "event")}
    assert client_messages == set(consumers.GatewayConsumer.OPS)


def test_close_codes_match_the_gateway_constants():
    assert set(DOC["x-close-codes"]) == {consumers.CLOSE_TOO_BIG, consumers.CLOSE_TRY_AGAIN_LATER,
                                         consumers.CLOSE_UNAUTHORIZED, consumers.CLOSE_RATE_LIMITED}


def test_every_error_code_the_gateway_raises_is_documented():
    source = Path(consumers.__file__).read_text()
    # codes raised as ApplicationError(code=...) and codes given to _reply_error(...) directly
    raised = set(re.findall(r'code="([a-z_]+)"', source)) | set(re.findall(r'_reply_error\([^\n]*?"([a-z_]+)"', source))
    source_tokens = (ROOT / "core" / "tokens.py").read_text()
    raised |= set(re.findall(r'code="([a-z_]+)"', source_tokens))
    assert raised <= set(DOC["x-error-codes"]), raised - set(DOC["x-error-codes"])


def test_every_registered_topic_and_command_is_documented():
    documented = DOC["x-topics"]
    assert set(registry.registered_kinds()) == set(documented)
    for kind in registry.registered_kinds():
        commands = set(registry.get_topic(kind).commands)
        assert commands == set(documented[kind]["commands"] or []), kind


def test_documented_limits_match_settings(settings):
    assert DOC["x-limits"]["max_frame_bytes"] == settings.REALTIME["MAX_FRAME_BYTES"]
    assert DOC["x-limits"]["violations_before_close"] == settings.REALTIME["RATE_VIOLATIONS_BEFORE_CLOSE"]
    assert DOC["x-limits"]["max_topics_per_connection"] == settings.REALTIME["MAX_TOPICS_PER_CONNECTION"]
