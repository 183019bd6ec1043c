"""Reading the trigger form's values: an optional field left empty means "use the setting".

The UI sends ``null`` for a cleared field, the REST API and ``airflow dags trigger -c`` may send
``""`` or spaces, and a scheduled run gets the defaults (``None``): all of them mean the same.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def given(params: dict[str, Any], key: str) -> Any:
    """The value entered for ``key``, or None when it was left empty (None, "", spaces)."""
    value = params.get(key)
    if isinstance(value, str):
        value = value.strip()
    return None if value in (None, "") else value


def text_or_setting(params: dict[str, Any], key: str, setting: Callable[[], str]) -> str:
    """The entered text, else the setting (read only when needed: it may raise)."""
    value = given(params, key)
    return str(value) if value is not None else setting()
