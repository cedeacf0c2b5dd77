"""JSON that is safe to embed anywhere a page carries it: inside a <script> element, an HTML attribute, or sent
to the viewer as bytes.

Two guarantees: no NaN or Infinity (JSON has none: `JSON.parse` fails on them, and the viewer drew nothing), since
a missing number is written as null; and no text that could end a script or open a comment (`</script>`,
`<!--`, `]]>`) nor a line separator JavaScript reads as a newline, since `<`, `>`, `&`, U+2028 and U+2029 are
written as \\uXXXX escapes, which JSON decodes back to the same characters.
"""

from __future__ import annotations

import json
import math

import numpy as np

_ESCAPES = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026"})  # non-ASCII is escaped by json


def finite_or_none(value):
    """`value` with every non-finite float (NaN, ±∞) replaced by None, through dicts, lists and tuples."""
    if isinstance(value, dict):
        return {key: finite_or_none(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite_or_none(item) for item in value]
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    return value


def script_json(value) -> str:
    """Compact JSON of `value` (non-finite numbers as null) that can stand inside any HTML element."""
    text = json.dumps(finite_or_none(value), separators=(",", ":"), allow_nan=False)
    return text.translate(_ESCAPES)
