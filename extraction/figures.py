"""What every figure of the product (the PRISMA diagram, forest and time-course plots) shares:
saving to SVG or PNG bytes, and measuring text before a figure exists.

SVG output needs a process-wide matplotlib setting, so one lock guards every figure that
changes it. matplotlib is loaded by the first drawing, not with this module.
"""

from __future__ import annotations

import io
import threading
from functools import cache
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from matplotlib.figure import Figure
    from matplotlib.textpath import TextToPath

PNG_DPI = 150  # figures are built at the resolution they are saved at, so tests measure that
_SAVE_LOCK = threading.Lock()


@cache
def _text_to_path() -> TextToPath:
    from matplotlib.textpath import TextToPath

    return TextToPath()


def figure_bytes(figure: Figure, fmt: Literal["svg", "png"]) -> bytes:
    """Save a figure as SVG or PNG bytes; SVG keeps its text as ``<text>`` elements.

    Text as text stays searchable, selectable and readable by screen readers. matplotlib
    reads that choice (``svg.fonttype``) from its global settings, so the change is made in
    ``rc_context`` under a lock: two threads of a web server must not restore each other's
    settings halfway through a save. A fixed hash salt and no date make the SVG byte-stable.
    """
    import matplotlib

    if fmt not in ("svg", "png"):
        raise ValueError(f'format must be "svg" or "png"; "{fmt}" given')
    buffer = io.BytesIO()
    settings = {"svg.fonttype": "none", "svg.hashsalt": "reviewmgr"}
    metadata = {"Date": None} if fmt == "svg" else {"Software": None}
    with _SAVE_LOCK, matplotlib.rc_context(settings):
        figure.savefig(buffer, format=fmt, dpi="figure", metadata=metadata)
    return buffer.getvalue()


def text_width(text: str, *, size: float, bold: bool = False) -> float:
    """Width in inches of one line of text in matplotlib's default font, without a figure."""
    from matplotlib.font_manager import FontProperties

    font = FontProperties(size=size, weight="bold" if bold else "normal")
    width, _, _ = _text_to_path().get_text_width_height_descent(text, font, ismath=False)
    return width / 72
