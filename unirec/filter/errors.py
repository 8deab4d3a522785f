"""Filter errors show the filter with a caret under the offending position."""

from ..errors import UnirecError


class FilterError(UnirecError):
    def __init__(self, message: str, text: str = "", position: int | None = None):
        if position is not None:
            message = f"{message} (column {position + 1})\n  {text}\n  {' ' * position}^"
        super().__init__(message)
        self.position = position
