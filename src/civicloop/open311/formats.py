"""Rendering Open311 bodies as XML and JSON, the two formats of GeoReport v2.

One value tree (dicts in field order, lists, scalars) is rendered two ways:

* **XML** with the standard library's ElementTree: UTF-8 declaration, no namespace; a list
  becomes repeated children whose name comes from :data:`LIST_CHILD` (``services`` →
  ``service``), ``None`` an empty element, booleans ``true``/``false``.
* **JSON** by the spec's mechanical ("Spark") mapping: the root element is dropped, so a list
  container becomes a bare array and a single record (discovery, service definition) an object.

Content types are the spec's exact strings. Nothing here parses XML: the API accepts only
form-encoded bodies (anything XML we ever accept must go through defusedxml).
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from typing import Any

XML_TYPE = "text/xml; charset=utf-8"
JSON_TYPE = "application/json; charset=utf-8"
FORMATS = {"xml": XML_TYPE, "json": JSON_TYPE}

# The element name of one item of each list container.
LIST_CHILD = {
    "services": "service",
    "service_requests": "request",
    "attributes": "attribute",
    "values": "value",
    "endpoints": "endpoint",
    "formats": "format",
    "errors": "error",
    "service_requests_updates": "request_update",
    "service_request_updates": "request_update",
}


# Text from other channels may hold characters XML 1.0 cannot carry; they are dropped on output.
_NOT_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return _NOT_XML.sub("", str(value))


def _fill(parent: ET.Element, name: str, value: Any) -> None:
    node = ET.SubElement(parent, name)
    if isinstance(value, dict):
        for key, child in value.items():
            _fill(node, key, child)
    elif isinstance(value, list):
        item = LIST_CHILD[name]
        for child in value:
            _fill(node, item, child)
    else:
        node.text = _text(value)


def to_xml(root: str, value: Any) -> bytes:
    """``<?xml version="1.0" encoding="utf-8"?>`` then ``<root>…</root>``."""
    holder = ET.Element("holder")
    _fill(holder, root, value)
    body = ET.tostring(holder[0], encoding="unicode", short_empty_elements=True)
    return ('<?xml version="1.0" encoding="utf-8"?>\n' + body).encode("utf-8")


def to_json(value: Any) -> bytes:
    """The root dropped: a list is a bare array, a record an object."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def render(fmt: str, root: str, value: Any) -> tuple[bytes, str]:
    """(body, content type) for ``fmt`` (``xml`` or ``json``)."""
    if fmt == "json":
        return to_json(value), JSON_TYPE
    return to_xml(root, value), XML_TYPE
