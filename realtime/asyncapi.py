"""``docs/asyncapi.yaml`` from the code: the parts that describe events are generated, the
protocol's prose is written by hand, and one renderer writes the whole file (``manage.py
asyncapi``; ``tests/realtime/test_protocol_doc.py`` checks the file equals its output).

Generated (rewritten on every run):

* ``components.schemas``: every CamelCase entry — the JSON Schema of each event type's data
  and of the objects nested in it (pydantic, ``realtime.events``);
* ``components.messages``: every entry whose name has a dot — one message per event type (its
  docstring, the topic kinds it goes on, the ``event`` frame with ``type`` fixed and ``data``
  referring to its schema), also listed in ``channels.gateway.messages`` and in the
  ``receiveEvent`` operation;
* ``x-topics.<kind>.key`` and ``x-topics.<kind>.events`` from each :class:`TopicKind`;
* ``x-control-events``: what the gateway itself sends (``subscription.revoked``).

Everything else (lower-case schema names such as ``topic``, the protocol messages, the topics'
``who``/``snapshot``/``commands`` prose, limits, codes) is kept as written.
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

import yaml
from pydantic.json_schema import GenerateJsonSchema, models_json_schema

from realtime.events import EventSchema, event_types, topic_kinds

HEADER = (
    "# The WebSocket protocol. Event messages, CamelCase schemas, x-topics.*.key/events and\n"
    "# x-control-events are generated from the code (realtime.asyncapi): edit the rest by hand, then\n"
    "# run `manage.py asyncapi` (a test checks this file equals its output).\n"
)

SCHEMA_REF = "#/components/schemas/{model}"


class _Schema(GenerateJsonSchema):
    """pydantic's JSON Schema without a generated ``title`` on every field (the names say it)."""

    def field_title_should_be_set(self, schema: Any) -> bool:
        return False


def documented_event_types() -> list[type[EventSchema]]:
    """The product's event types: everything declared outside the test suite."""
    return [cls for cls in event_types() if not cls.__module__.startswith("tests.")]


def _doc(cls: type) -> str:
    return _markdown(inspect.cleandoc(cls.__doc__ or ""))


def _markdown(text: str) -> str:
    """Docstrings quote code RST-style (````x````); AsyncAPI descriptions are Markdown (```x```)."""
    return text.replace("``", "`")


def _markdown_descriptions(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: (_markdown(v) if k == "description" and isinstance(v, str) else _markdown_descriptions(v))
                for k, v in node.items()}
    if isinstance(node, list):
        return [_markdown_descriptions(v) for v in node]
    return node


def _summary(text: str) -> str:
    return " ".join(text.split("\n\n")[0].split())


def event_schemas(types: list[type[EventSchema]]) -> dict[str, Any]:
    """``{model name: JSON Schema}`` of ``types`` and every model nested in them."""
    _, top = models_json_schema([(cls, "validation") for cls in types], ref_template=SCHEMA_REF,
                                schema_generator=_Schema)
    return _markdown_descriptions(dict(sorted(top.get("$defs", {}).items())))


def event_message(cls: type[EventSchema]) -> dict[str, Any]:
    """The AsyncAPI message of one event type: the ``event`` frame with its ``type`` and ``data``."""
    message: dict[str, Any] = {
        "name": cls.type,
        "title": cls.__name__,
        "summary": _summary(_doc(cls)),
    }
    if cls.topics is None:
        message["x-sent-by"] = "the gateway (not published by apps)"
    else:
        message["x-topics"] = [t.kind for t in cls.topics]
    if cls.ephemeral:
        message["x-ephemeral"] = True
    message["payload"] = {"allOf": [
        {"$ref": "#/components/messages/event/payload"},
        {"type": "object", "properties": {"type": {"const": cls.type},
                                         "data": {"$ref": SCHEMA_REF.format(model=cls.__name__)}}},
    ]}
    return message


def generate(doc: dict[str, Any]) -> dict[str, Any]:
    """``doc`` (the loaded file) with its generated parts replaced from the code."""
    types = documented_event_types()
    published = [cls for cls in types if cls.topics is not None]
    control = [cls for cls in types if cls.topics is None]
    out = dict(doc)
    components = dict(out.get("components") or {})
    schemas = {k: v for k, v in (components.get("schemas") or {}).items() if not k[:1].isupper()}
    schemas.update(event_schemas(types))
    messages = {k: v for k, v in (components.get("messages") or {}).items() if "." not in k}
    messages.update({cls.type: event_message(cls) for cls in types})
    components["messages"] = messages
    components["schemas"] = schemas
    out["components"] = components

    channels = dict(out.get("channels") or {})
    gateway = dict(channels.get("gateway") or {})
    gateway_messages = {k: v for k, v in (gateway.get("messages") or {}).items() if "." not in k}
    gateway_messages.update({cls.type: {"$ref": f"#/components/messages/{cls.type}"} for cls in published})
    gateway["messages"] = gateway_messages
    channels["gateway"] = gateway
    out["channels"] = channels

    operations = dict(out.get("operations") or {})
    receive = dict(operations.get("receiveEvent") or {})
    receive["messages"] = [{"$ref": "#/channels/gateway/messages/event"}] + [
        {"$ref": f"#/channels/gateway/messages/{cls.type}"} for cls in published
    ]
    operations["receiveEvent"] = receive
    out["operations"] = operations

    topics: dict[str, Any] = {}
    written = out.get("x-topics") or {}
    for kind in topic_kinds():
        events = [cls.type for cls in kind.events if not cls.__module__.startswith("tests.")]
        if not events and kind.kind not in written:
            continue  # a kind of the test suite or a benchmark
        entry = {"key": kind.key}
        entry.update({k: v for k, v in (written.get(kind.kind) or {}).items() if k not in ("key", "events")})
        entry["events"] = events
        topics[kind.kind] = entry
    out["x-topics"] = topics
    out["x-control-events"] = {cls.type: {"$ref": f"#/components/messages/{cls.type}"} for cls in control}
    return out


class _Dumper(yaml.SafeDumper):
    pass


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


def _short(value: Any) -> bool:
    return not isinstance(value, (dict, list)) and len(str(value)) <= 60


def _dict(dumper: yaml.SafeDumper, value: dict) -> yaml.Node:
    flow = all(_short(v) for v in value.values()) and len(str(value)) <= 90
    return dumper.represent_mapping("tag:yaml.org,2002:map", value.items(), flow_style=flow)


def _list(dumper: yaml.SafeDumper, value: list) -> yaml.Node:
    flow = all(_short(v) or (isinstance(v, dict) and len(str(v)) <= 90 and all(_short(x) for x in v.values()))
               for v in value)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", value, flow_style=flow)


_Dumper.add_representer(str, _str)
_Dumper.add_representer(dict, _dict)
_Dumper.add_representer(list, _list)


def render(doc: dict[str, Any]) -> str:
    """The file's text: :data:`HEADER` and ``doc`` as block YAML, keys in their order."""
    return HEADER + yaml.dump(doc, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=110)


def regenerate(path: Path) -> str:
    """The text ``path`` should have: its hand-written parts with the generated parts renewed."""
    return render(generate(yaml.safe_load(path.read_text())))
