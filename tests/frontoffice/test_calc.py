"""Pure front-office rules: Open311 status mapping, attribute validation, plain text."""

from __future__ import annotations

from govshare.frontoffice import calc

DEFS = [
    {"code": "size", "datatype": "singlevaluelist", "required": True, "order": 1,
     "values": [{"key": "small"}, {"key": "large"}], "description": "Size"},
    {"code": "items", "datatype": "multivaluelist", "required": False, "order": 2,
     "values": [{"key": "a"}, {"key": "b"}]},
    {"code": "days", "datatype": "number", "required": False, "order": 3},
    {"code": "when", "datatype": "datetime", "required": False, "order": 4},
    {"code": "note", "datatype": "string", "variable": False, "order": 5},
]


def test_every_internal_status_maps_to_open_or_closed() -> None:
    for status in calc.REQUEST_TRANSITIONS:
        assert calc.open311_status(status) in ("open", "closed")
    assert calc.open311_status("in_progress") == "open"
    assert calc.open311_status("duplicate") == "closed"
    assert calc.can_transition("submitted", "resolved")
    assert not calc.can_transition("resolved", "submitted")


def test_attribute_validation_by_datatype() -> None:
    clean, errors = calc.validate_attributes(DEFS, {
        "size": ["large"], "items": ["a", "b"], "days": ["3.5"],
        "when": ["2026-11-29T08:00:00-08:00"]})
    assert errors == []
    assert clean == {"size": "large", "items": ["a", "b"], "days": 3.5,
                     "when": "2026-11-29T08:00:00-08:00"}
    _, errors = calc.validate_attributes(DEFS, {
        "items": ["a", "zzz"], "days": ["many"], "when": ["2026-11-29 08:00"],
        "colour": ["red"]})
    reasons = {e["code"]: e["reason"] for e in errors}
    assert reasons["size"].startswith("required")
    assert "zzz" in reasons["items"]
    assert "not a number" in reasons["days"]
    assert "time zone" in reasons["when"]
    assert "not an attribute" in reasons["colour"]
    _, errors = calc.validate_attributes(DEFS, {"size": ["small", "large"]})
    assert errors == [{"code": "size", "reason": "takes one value"}]


def test_definitions_are_checked() -> None:
    problems = calc.check_definitions([{"code": "bad code", "datatype": "colour"},
                                       {"code": "x", "datatype": "singlevaluelist"}])
    assert len(problems) == 3


def test_plain_text_and_ids() -> None:
    assert calc.plain_text("<script>alert(1)</script>Hole <b>here</b>") == "alert(1)Hole here"
    assert calc.plain_text("   ") is None
    assert calc.public_request_id(2026, 42) == "2026-000042"
