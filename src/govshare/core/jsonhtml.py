"""JSON embedded in an HTML page: the one way to do it (the templates' ``tojson`` filter).

``json.dumps`` leaves ``</script>`` as it is, so a name such as ``X</script><h1>`` inside a
``<script type="application/json">`` block ends the block and what follows is read as HTML: a
stored injection that any member's or resident's text could carry onto a staff page. Here
``<``, ``>`` and ``&`` (HTML's own syntax), ``'`` (safe in a single-quoted attribute too) and
U+2028 / U+2029 (line ends to older JavaScript) are written as ``\\uXXXX`` escapes, which
``JSON.parse`` reads back to the same characters. A number that is not finite, which JSON
cannot hold, is written as ``null`` rather than as the ``NaN`` that ``JSON.parse`` refuses.

Use it for every JSON a template embeds, in a ``<script type="application/json">`` block
read with ``JSON.parse(el.textContent)``; never ``json.dumps(...) | safe``.
"""

from __future__ import annotations

import json
import math
from typing import Any

from markupsafe import Markup

_ESCAPES = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "'": "\\u0027",
                          "\u2028": "\\u2028", "\u2029": "\\u2029"})


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def json_for_html(value: Any) -> Markup:
    """``value`` as JSON that cannot end the script element or attribute it is put in."""
    try:
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except ValueError:
        text = json.dumps(_finite(value), ensure_ascii=False, separators=(",", ":"))
    return Markup(text.translate(_ESCAPES))  # noqa: S704 - every HTML-significant char escaped
