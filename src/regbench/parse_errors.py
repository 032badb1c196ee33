"""What parsing a delivered file can end in besides typed rows: the whole file refused."""

from __future__ import annotations


class FileRejected(Exception):
    """The whole file cannot be loaded; carries what went wrong and where, never a data value."""

    def __init__(self, rule: str, message: str, *, row: int | None = None, column: str | None = None,
                 action: str = ""):
        super().__init__(message)
        self.rule = rule
        self.message = message
        self.row = row
        self.column = column
        self.action = action
