"""Text as it enters from Slack: valid JSON may still carry lone UTF-16 surrogates
(``"\\ud800"``), which no email, database or log can encode. They become U+FFFD, the
replacement character Slack's own clients show."""

from __future__ import annotations

import re
from typing import Any

_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def without_lone_surrogates(value: Any) -> Any:
    """``value`` (str, list, dict, nested) with every lone surrogate replaced; dicts and
    lists are changed in place, as they arrived from a parser."""
    if isinstance(value, str):
        return _LONE_SURROGATE.sub("\ufffd", value)
    if isinstance(value, dict):
        for key in list(value):
            value[key] = without_lone_surrogates(value[key])
    elif isinstance(value, list):
        value[:] = [without_lone_surrogates(item) for item in value]
    return value
