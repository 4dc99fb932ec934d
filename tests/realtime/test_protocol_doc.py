"""docs/asyncapi.yaml must describe the gateway the code implements."""

import re
from pathlib import Path

import pytest
import yaml
from django.core.management import CommandError, call_command

from realtime import consumers, registry
from realtime.asyncapi import documented_event_types, regenerate, render
from realtime.events import get_topic_kind

ROOT = Path(__file__).resolve().parents[2]
DOC = yaml.safe_load((ROOT / "docs" / "asyncapi.yaml").read_text())


def test_documented_ops_are_exactly_the_gateway_ops():
    assert set(DOC["x-ops"]) == set(consumers.GatewayConsumer.OPS)
    client_messages = {n for n in DOC["channels"]["gateway"]["messages"] if n not in ("reply", "event") and "." not in n}
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


# --- events: generated from the code ---------------------------------------------------------

DOC_PATH = ROOT / "docs" / "asyncapi.yaml"


def test_the_doc_is_exactly_what_manage_py_asyncapi_writes():
    """Every event message and schema, the topics' event lists and the control events come from
    the code (realtime.asyncapi): an event type added, renamed or changed without running the
    command fails here."""
    assert DOC_PATH.read_text() == regenerate(DOC_PATH), "docs/asyncapi.yaml is out of date: run `manage.py asyncapi`"


def test_the_check_command_fails_on_a_stale_doc(tmp_path):
    stale = tmp_path / "asyncapi.yaml"
    doc = yaml.safe_load(DOC_PATH.read_text())
    doc["components"]["messages"]["cart.updated"]["summary"] = "a prose payload"
    del doc["components"]["schemas"]["CartUpdated"]
    stale.write_text(render(doc))
    with pytest.raises(CommandError, match="out of date"):
        call_command("asyncapi", "--check", "--path", str(stale))
    call_command("asyncapi", "--path", str(stale))
    assert stale.read_text() == DOC_PATH.read_text()


def test_every_product_event_type_has_a_message_with_a_payload_schema_and_no_prose_payload():
    messages, schemas = DOC["components"]["messages"], DOC["components"]["schemas"]
    documented = {name for name in messages if "." in name}
    assert documented == {cls.type for cls in documented_event_types()}
    for name in documented:
        frame = messages[name]["payload"]["allOf"][1]["properties"]
        assert frame["type"] == {"const": name}
        schema = schemas[frame["data"]["$ref"].rsplit("/", 1)[1]]
        assert schema["type"] == "object" and schema["additionalProperties"] is False, name
        assert set(schema["required"]) <= set(schema["properties"]), name
    for kind in DOC["x-topics"].values():
        assert isinstance(kind["events"], list) and all(isinstance(t, str) for t in kind["events"])


def test_each_topic_lists_the_event_types_declared_for_its_kind():
    for kind in registry.registered_kinds():
        declared = [cls.type for cls in get_topic_kind(kind).events if not cls.__module__.startswith("tests.")]
        assert DOC["x-topics"][kind]["events"] == declared, kind


def _resolve(pointer: str):
    node = DOC
    for part in pointer.removeprefix("#/").split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def _refs(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def test_every_ref_in_the_doc_resolves():
    refs = set(_refs(DOC))
    assert len(refs) > 50
    for ref in refs:
        assert ref.startswith("#/"), ref
        _resolve(ref)  # KeyError names a dangling reference
