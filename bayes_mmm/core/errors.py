"""The one error type for bad input, so every surface can report it the same way."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path


def describe_rows(rows: Sequence[int], dates: Sequence[str] | None = None, limit: int = 5) -> str:
    """Render 1-based data rows (and their dates when known) compactly.

    >>> describe_rows([3, 7])
    'rows 3, 7'
    """
    rows = list(rows)
    shown = ", ".join(str(r) for r in rows[:limit])
    more = f" and {len(rows) - limit} more" if len(rows) > limit else ""
    text = f"row{'s' if len(rows) != 1 else ''} {shown}{more}"
    if dates is not None and len(dates):
        dshown = ", ".join(str(d) for d in list(dates)[:limit])
        text += f" (date{'s' if len(rows) != 1 else ''} {dshown}{'…' if more else ''})"
    return text


class DataError(ValueError):
    """Bad input data: names the file, the column and the rows at fault.

    Parameters
    ----------
    problem
        What is wrong, in words an analyst can act on.
    file
        The offending file or folder.
    column
        The offending column, if any.
    rows
        1-based data rows (the header is not counted), if any.
    dates
        The dates of those rows, when known.
    hint
        How to fix it.
    """

    def __init__(
        self,
        problem: str,
        *,
        file: str | Path | None = None,
        column: str | None = None,
        rows: Sequence[int] | None = None,
        dates: Sequence[str] | None = None,
        hint: str | None = None,
    ) -> None:
        self.problem = problem
        self.file = str(file) if file is not None else None
        self.column = column
        self.rows = list(rows) if rows is not None else []
        dates = None if dates is None else [str(d) for d in dates]
        self.hint = hint
        parts = []
        if self.file:
            parts.append(self.file)
        if column:
            parts.append(f"column '{column}'")
        if self.rows:
            parts.append(describe_rows(self.rows, dates))
        where = ": ".join([", ".join(parts)]) if parts else ""
        message = f"{where}: {problem}" if where else problem
        if hint:
            message += f" — {hint}"
        super().__init__(message)
