"""Read a JSON file so that any damage becomes one DataError line naming the file."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from bayes_mmm.core.errors import DataError


def read_json(path: str | Path, hint: str | None = None) -> Any:
    """Parse ``path`` as UTF-8 JSON; unreadable, non-UTF-8 or invalid JSON → DataError.

    Parameters
    ----------
    path
        The file.
    hint
        How to fix it, appended to the message.
    """
    path = Path(path)
    try:
        return json.loads(path.read_bytes().decode("utf-8-sig"))  # Windows Notepad writes a BOM
    except UnicodeDecodeError as exc:
        raise DataError(f"not UTF-8 text (byte {exc.start})", file=path, hint=hint) from None
    except OSError as exc:  # a folder of that name, no permission, a vanished file
        raise DataError(f"cannot read ({exc.strerror or type(exc).__name__})", file=path, hint=hint) from None
    except json.JSONDecodeError as exc:
        raise DataError(f"invalid JSON ({exc.msg} at line {exc.lineno})", file=path, hint=hint) from None
    except RecursionError:
        raise DataError("invalid JSON (nested too deeply)", file=path, hint=hint) from None


def kind_of(value: Any) -> str:
    """How a JSON value reads in a message: ``null``, ``a list``, ``an object``, ``a number`` …"""
    if value is None:
        return "null"
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean", int: "a number", float: "a number"}
    return names.get(type(value), f"a {type(value).__name__}")


def non_finite(value: Any, where: str = "") -> list[str]:
    """Dotted paths of the NaN or infinite numbers in a JSON-like value (numpy scalars and arrays included).

    >>> non_finite({"a": [1.0, float("nan")], "b": {"c": float("inf")}})
    ['a[1]', 'b.c']
    """
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in non_finite(v, f"{where}.{k}" if where else str(k))]
    if hasattr(value, "tolist") and not isinstance(value, str | bytes):
        value = value.tolist()  # numpy arrays and scalars become lists and Python numbers
    if isinstance(value, list | tuple):
        return [p for i, v in enumerate(value) for p in non_finite(v, f"{where}[{i}]")]
    if isinstance(value, float) and not math.isfinite(value):
        return [where]
    return []
