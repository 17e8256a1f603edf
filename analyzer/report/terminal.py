"""Text for a terminal: everything that came from input is stripped of control characters."""

from __future__ import annotations

import functools
import re

# C0 controls except tab/newline, DEL, C1 controls (incl. CSI 0x9b) and bidi overrides: an ESC
# in a header must not recolour, move the cursor or retitle the user's terminal.
_CONTROL = r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]"


@functools.cache
def _control() -> re.Pattern[str]:
    """The compiled ``_CONTROL``, compiled on first need: most reports never need it, and
    compiling it costs more than the rest of this module's import."""
    return re.compile(_CONTROL)


def safe_text(text: str) -> str:
    """``text`` with terminal control characters shown as ``\\xNN`` escapes."""
    if text.isascii() and text.isprintable():  # only U+0020..U+007E: nothing to escape
        return text
    return _control().sub(lambda m: f"\\x{ord(m.group(0)):02x}", text)
