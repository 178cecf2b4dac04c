"""Rendering of Open311 GeoReport v2 documents as XML and JSON. Pure: values in, bytes out.

The spec defines the XML and maps it to JSON by the "Spark convention": an XML list element
(``<services>``, ``<attributes>``, ``<values>``) holding repeated children becomes a JSON
array, a leaf becomes a scalar, an empty element becomes ``null``. So every document is built
once as plain Python values (dicts, lists, str, int, float, bool, None) and rendered either
way; the element name of a list's items comes from :data:`ITEM`.

Invariants:
- XML is built with ``xml.etree.ElementTree`` (escaping by the library, never by string
  concatenation), carries the ``<?xml version="1.0" encoding="UTF-8"?>`` declaration the spec
  requires, no DTD and no namespace, and is served as ``text/xml; charset=utf-8``.
- Characters XML 1.0 cannot carry (most C0 controls) are dropped from XML text: a stray
  ``\\x01`` in a description must not make the whole response ill-formed.
- JSON is UTF-8 (not ASCII-escaped) and served as ``application/json; charset=utf-8``; lists
  are top-level arrays, as in the spec's examples.
- Date-times are ISO 8601 with an explicit offset (``2026-11-29T08:00:00+00:00``).
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from typing import Any

from govshare.frontoffice.calc import STATUS_LABELS

FORMATS = ("xml", "json")
MEDIA_TYPES = {"xml": "text/xml; charset=utf-8", "json": "application/json; charset=utf-8"}
XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n'

# List element -> the element name of each item (the spec's plural/singular pairs, and ours).
ITEM = {
    "services": "service",
    "service_requests": "request",
    "attributes": "attribute",
    "values": "value",
    "endpoints": "endpoint",
    "formats": "format",
    "errors": "error",
    "service_request_updates": "request_update",
    "notes": "note",
}

_XML_INVALID = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def iso(value: datetime | None) -> str | None:
    """ISO 8601 with the UTC offset spelled out, to the second (``...T08:00:00+00:00``)."""
    if value is None:
        return None
    if value.tzinfo is None:  # stored timestamps are aware; a naive one is a bug upstream
        raise ValueError("naive datetime in an Open311 document")
    if value.tzinfo is not UTC:  # UTCDateTime already gives UTC: skip the conversion
        value = value.astimezone(UTC)
    return value.isoformat(timespec="seconds")


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return _XML_INVALID.sub("", str(value))


def _append(parent: ET.Element, tag: str, value: Any) -> None:
    el = ET.SubElement(parent, tag)
    if isinstance(value, dict):
        for k, v in value.items():
            _append(el, k, v)
    elif isinstance(value, list | tuple):
        item = ITEM.get(tag)
        if item is None:
            raise ValueError(f"no item element name for the list {tag!r}")
        for v in value:
            _append(el, item, v)
    else:
        el.text = _text(value)


def to_xml(root: str, document: Any) -> bytes:
    """``document`` is a list (items named by :data:`ITEM`) or a dict of children."""
    top = ET.Element(root)
    if isinstance(document, dict):
        for k, v in document.items():
            _append(top, k, v)
    else:
        item = ITEM[root]
        for v in document:
            _append(top, item, v)
    return (XML_DECLARATION + ET.tostring(top, encoding="unicode")).encode("utf-8")


def to_json(document: Any) -> bytes:
    return json.dumps(document, ensure_ascii=False, separators=(",", ":"),
                      allow_nan=False).encode("utf-8")


def render(fmt: str, root: str, document: Any) -> tuple[bytes, str]:
    """The body and its media type for ``fmt`` (``xml`` or ``json``)."""
    if fmt == "json":
        return to_json(document), MEDIA_TYPES["json"]
    if fmt == "xml":
        return to_xml(root, document), MEDIA_TYPES["xml"]
    raise ValueError(f"unsupported format {fmt!r}")


def errors(fmt: str, problems: list[tuple[int, str]]) -> tuple[bytes, str]:
    """The spec's error document: a list of {code, description}, ``<errors><error>`` in XML."""
    return render(fmt, "errors", [{"code": code, "description": description}
                                  for code, description in problems])


# ------------------------------------------------------------------ documents


def service_entry(*, code: str, name: str, description: str | None, has_attributes: bool,
                  keywords: list[str] | None, group: str | None) -> dict[str, Any]:
    """One entry of the service list. Only request services are listed, so ``type`` is always
    ``realtime``: the id is assigned the moment the request is accepted."""
    return {"service_code": code, "service_name": name, "description": description,
            "metadata": has_attributes, "type": "realtime",
            "keywords": ", ".join(keywords) if keywords else None, "group": group}


def attribute_entry(a: dict[str, Any], position: int) -> dict[str, Any]:
    """One attribute of a service definition, every field the spec names, in its order."""
    order = a.get("order")
    return {
        "variable": bool(a.get("variable", True)),
        "code": str(a["code"]),
        "datatype": a.get("datatype", "string"),
        "required": bool(a.get("required", False)) and a.get("variable", True) is not False,
        "datatype_description": a.get("datatype_description"),
        "order": order if isinstance(order, int) and not isinstance(order, bool) else position,
        "description": a.get("description"),
        "values": [{"key": str(v["key"]), "name": str(v.get("name", v["key"]))}
                   for v in a.get("values") or []],
    }


def service_definition(code: str, attributes: list[dict[str, Any]]) -> dict[str, Any]:
    entries = [attribute_entry(a, i + 1) for i, a in enumerate(attributes)]
    entries.sort(key=lambda e: (e["order"], e["code"]))
    return {"service_code": code, "attributes": entries}


def request_entry(*, public_id: str, status: str, status_notes: str | None,
                  service_name: str | None, service_code: str, description: str | None,
                  agency: str | None, service_notice: str | None, requested_at: datetime,
                  updated_at: datetime | None, expected_at: datetime | None,
                  address: str | None, address_id: str | None, zipcode: str | None,
                  lat: float | None, lon: float | None, media_url: str | None
                  ) -> dict[str, Any]:
    """A service request as the public sees it: ``status`` is already open/closed. There is
    deliberately no parameter for contact details (name, email, phone, device, account)."""
    return {
        "service_request_id": public_id, "status": status, "status_notes": status_notes,
        "service_name": service_name, "service_code": service_code,
        "description": description, "agency_responsible": agency,
        "service_notice": service_notice, "requested_datetime": iso(requested_at),
        "updated_datetime": iso(updated_at), "expected_datetime": iso(expected_at),
        "address": address, "address_id": address_id, "zipcode": zipcode,
        "lat": lat, "long": lon, "media_url": media_url,
    }


def update_entry(*, update_id: int, public_id: str, status: str, description: str | None,
                 at: datetime, media_url: str | None = None) -> dict[str, Any]:
    """One row of the service request updates feed (the FixMyStreet/Open311 extension)."""
    return {"update_id": str(update_id), "service_request_id": public_id, "status": status,
            "description": description, "updated_datetime": iso(at), "media_url": media_url}


def describe_update(kind: str, from_value: str | None, to_value: str | None,
                    note: str | None) -> str:
    """A public update in words: what changed, then the note staff made public with it."""
    if kind == "status":
        text = STATUS_LABELS.get(to_value or "", to_value or "Status changed")
        if note and note.lower().startswith(text.lower()):
            return note  # "Received by open311", not "Received: Received by open311"
    elif kind == "forward":
        text = f"Forwarded from {from_value} to {to_value}"
    elif kind == "recategorize":
        text = f"Moved from service {from_value} to {to_value}"
    else:
        return note or ""
    return f"{text}: {note}" if note else text
