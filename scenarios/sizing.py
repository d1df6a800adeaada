"""Bodies of an exact size, for the size limits: padded with ASCII so one character is one byte."""

from __future__ import annotations

from typing import Any

import orjson

__all__ = ["pad_to"]


def pad_to(payload: dict[str, Any], size: int, *, key: str = "notes") -> dict[str, Any]:
    """`payload` with `traits[key]` padded so the JSON body is exactly `size` bytes."""
    traits = payload.setdefault("traits", {})
    traits[key] = ""
    missing = size - len(orjson.dumps(payload))
    if missing < 0:
        raise ValueError(f"the payload is already {size - missing} bytes, over {size}")
    traits[key] = "x" * missing
    return payload
