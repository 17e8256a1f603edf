"""Text for a terminal: everything that came from input is stripped of control characters."""

from __future__ import annotations

import re

# C0 controls except tab/newline, DEL, C1 controls (incl. CSI 0x9b) and bidi overrides: an ESC
# in a header must not recolour, move the cursor or retitle the user's terminal.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def safe_text(text: str) -> str:
    """``text`` with terminal control characters shown as ``\\xNN`` escapes."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group(0)):02x}", text)
