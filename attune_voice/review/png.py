"""The session timeline and the history's trends as PNG images, for sharing.

Both are drawn with Pillow, imported inside the functions only: matplotlib, which drew
them before, took a second to import, more than the whole picture needs. They are
returned as PNG bytes; the caller writes them.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import tzinfo
from pathlib import Path
from typing import Any

from attune_voice.events import PARTNERS
from attune_voice.review.history import HistoryEntry, trend
from attune_voice.review.metrics import SessionSummary
from attune_voice.review.text import COACH_COLOUR, PARTNER_COLOURS, clock, headline, timeline_rows
from attune_voice.review.timeline import Timeline

DPI = 120
WIDTH_IN = 10.0
_LANES = {"coach": (2.6, 0.5), "A": (1.4, 0.8), "B": (0.2, 0.8)}
"""Lane bottoms and heights in axis units, top to bottom: the coach, partner A, B."""


def session_png(summary: SessionSummary, laid_out: Timeline, *, subtitle: str = "") -> bytes:
    """The timeline of one session, in rows of equal scale, as a PNG image."""
    from PIL import Image, ImageDraw

    rows = timeline_rows(laid_out.duration_s)
    width_px = round(WIDTH_IN * DPI)
    height_px = round((1.2 + 1.05 * len(rows)) * DPI)
    image = Image.new("RGBA", (width_px, height_px), "white")
    names = dict(zip(PARTNERS, laid_out.names, strict=True))
    colours = dict(zip(PARTNERS, PARTNER_COLOURS, strict=True))
    left_px, right_px = round(0.08 * width_px), round(0.97 * width_px)
    top_px, bottom_px = round(0.45 * DPI), height_px - round(0.62 * DPI)
    # As matplotlib's subplots with hspace 0.55: each row's axes, then a gap for the ticks.
    row_px = (bottom_px - top_px) / (len(rows) + 0.55 * (len(rows) - 1))
    for i, (start_t, end_t) in enumerate(rows):
        row_top = top_px + i * row_px * 1.55
        frame = _Frame(left_px, right_px, row_top, row_top + row_px, start_t, end_t)
        _draw_timeline_row(image, frame, laid_out, names, colours)
    draw = ImageDraw.Draw(image)
    title = headline(summary) + (f"   {subtitle}" if subtitle else "")
    draw.text((round(0.01 * width_px), 8), title, fill=_INK, font=_font(12))
    legend = [
        (PARTNER_COLOURS[0], names["A"]),
        (PARTNER_COLOURS[1], names["B"]),
        (COACH_COLOUR, "the coach's prompts"),
        (_blend("#1f2328", 0.12), "whose floor it was"),
    ]
    x = round(0.01 * width_px)
    y = height_px - 30
    small = _font(9)
    for colour, label in legend:
        draw.rectangle((x, y + 2, x + 22, y + 12), fill=colour)
        draw.text((x + 30, y), label, fill=_INK, font=small)
        x += 30 + round(draw.textlength(label, font=small)) + 36
    return _pillow_png(image)


_INK = "#1f2328"
_POINTS_PX = DPI / 72
"""Pixels per typographic point at the picture's resolution."""


@dataclass(frozen=True)
class _Frame:
    """Where one row of the timeline sits in the picture, and the time it shows."""

    left_px: float
    right_px: float
    top_px: float
    bottom_px: float
    start_t: float
    end_t: float
    y_top: float = 3.3
    """The height at the frame's top, in the units of ``y``."""

    def x(self, t: float) -> float:
        span_s = max(self.end_t - self.start_t, 1e-9)
        return self.left_px + (t - self.start_t) / span_s * (self.right_px - self.left_px)

    def y(self, units: float) -> float:
        """A height (0 at the bottom, ``y_top`` at the top) as a pixel row."""
        return self.bottom_px - units / self.y_top * (self.bottom_px - self.top_px)


_Y_TOP = _Frame.y_top
"""The timeline's height in lane units."""


def _draw_timeline_row(
    image: Any, frame: _Frame, laid_out: Timeline, names: dict[str, str], colours: dict[str, str]
) -> None:
    from PIL import ImageDraw

    draw = ImageDraw.Draw(image)
    start_t, end_t = frame.start_t, frame.end_t

    def box(t: float, t_end: float, bottom: float, height: float, fill: str) -> None:
        if t_end <= start_t or t >= end_t:
            return
        shown_t = max(t, start_t)
        shown_end_t = shown_t + max(0.2, min(t_end, end_t) - shown_t)
        draw.rectangle(
            (frame.x(shown_t), frame.y(bottom + height), frame.x(shown_end_t), frame.y(bottom)),
            fill=fill,
        )

    shown_end_t = min(end_t, max(laid_out.duration_s, start_t))
    for bottom, height in _LANES.values():
        box(start_t, shown_end_t, bottom, height, "#f3f5f7")
    for partner in PARTNERS:
        bottom, height = _LANES[partner]
        floor_colour = _blend(colours[partner], 0.18, over="#f3f5f7")
        for f in laid_out.floors:
            if f.partner == partner:
                box(f.t, f.end_t, bottom - 0.1, height + 0.2, floor_colour)
    for partner in PARTNERS:
        bottom, height = _LANES[partner]
        for s in laid_out.speech:
            if s.partner != partner:
                continue
            if s.kind == "backchannel":
                box(s.t, s.end_t, bottom + 0.3, height - 0.6, colours[partner])
            else:
                box(s.t, s.end_t, bottom + 0.1, height - 0.2, colours[partner])
            if s.kind == "interruption" and start_t <= s.t < end_t:
                x, y = frame.x(s.t), frame.y(bottom + height + 0.12)
                draw.polygon([(x - 5, y - 5), (x + 5, y - 5), (x, y + 4)], fill=_INK)
    bottom, height = _LANES["coach"]
    for p in laid_out.prompts:
        box(p.t, p.end_t, bottom, height, COACH_COLOUR)
    for s in laid_out.speech:
        if s.partner is None:
            box(s.t, s.end_t, bottom + 0.1, height - 0.2, "#b7bcc4")
    for pause in laid_out.pauses:
        box(pause.t, pause.end_t, 0.0, _Y_TOP, _blend("#c9ced6", 0.6))
    label_font, tick_font = _font(9), _font(8)
    for lane, label in (("coach", "coach"), ("A", names["A"]), ("B", names["B"])):
        bottom, height = _LANES[lane]
        draw.text(
            (frame.left_px - 8, frame.y(bottom + height / 2)),
            label,
            fill=_INK,
            font=label_font,
            anchor="rm",
        )
    draw.line((frame.left_px, frame.bottom_px, frame.right_px, frame.bottom_px), fill=_INK)
    step_s = 60.0 if end_t - start_t <= 900 else 300.0
    tick_t = math.ceil(start_t / step_s) * step_s
    while tick_t <= end_t + 1e-6:
        x = frame.x(tick_t)
        draw.line((x, frame.bottom_px, x, frame.bottom_px + 4), fill=_INK)
        draw.text((x, frame.bottom_px + 6), clock(tick_t), fill=_INK, font=tick_font, anchor="mt")
        tick_t += step_s


def _blend(colour: str, alpha: float, *, over: str = "#ffffff") -> str:
    """``colour`` laid at ``alpha`` over ``over``, as one opaque colour."""
    top = [int(colour[i : i + 2], 16) for i in (1, 3, 5)]
    under = [int(over[i : i + 2], 16) for i in (1, 3, 5)]
    mixed = [round(alpha * t + (1 - alpha) * u) for t, u in zip(top, under, strict=True)]
    return "#" + "".join(f"{value:02x}" for value in mixed)


def _font(points: float) -> Any:
    """DejaVu Sans (the font matplotlib ships, found without importing it) at ``points``,
    else Pillow's own. It has no Chinese or Korean: such a name shows as boxes."""
    from importlib.util import find_spec

    from PIL import ImageFont

    size_px = round(points * _POINTS_PX)
    spec = find_spec("matplotlib")
    for folder in spec.submodule_search_locations or [] if spec is not None else []:
        path = Path(folder) / "mpl-data" / "fonts" / "ttf" / "DejaVuSans.ttf"
        if path.is_file():
            return ImageFont.truetype(str(path), size_px)
    return ImageFont.load_default(size_px)


def _pillow_png(image: Any) -> bytes:
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, format="PNG", dpi=(DPI, DPI))
    return buffer.getvalue()


def history_png(entries: Sequence[HistoryEntry], tz: tzinfo | None = None) -> bytes:
    """Three small trend charts over the sessions, oldest first: the share of the talk
    (A under B, with the even line), interruptions, and paraphrases confirmed first time.

    A measured nought shows as a mark on the axis; a figure not recorded shows nothing.
    """
    from PIL import Image, ImageDraw

    points = [trend(entry) for entry in entries]
    width_px, height_px = round(WIDTH_IN * DPI), round(6.0 * DPI)
    image = Image.new("RGB", (width_px, height_px), "white")
    draw = ImageDraw.Draw(image)
    left_px, right_px = round(0.07 * width_px), round(0.97 * width_px)
    top_px, bottom_px = round(0.1 * height_px), round(0.92 * height_px)
    panel_px = (bottom_px - top_px) / (3 + 0.5 * 2)
    count = max(len(points), 1)

    def frame(i: int, y_top: float) -> _Frame:
        panel_top = top_px + i * panel_px * 1.5
        return _Frame(left_px, right_px, panel_top, panel_top + panel_px, -0.6, count - 0.4, y_top)

    names = entries[-1].summary.partners if entries else PARTNERS
    shares = frame(0, 100.0)
    for i, p in enumerate(points):
        a_pc, b_pc = p.shares[0] * 100, p.shares[1] * 100
        _bar(draw, shares, i, 0.0, a_pc, PARTNER_COLOURS[0])
        _bar(draw, shares, i, a_pc, a_pc + b_pc, PARTNER_COLOURS[1])
    x_px = float(left_px)
    while x_px < right_px:
        draw.line((x_px, shares.y(50), min(x_px + 8, right_px), shares.y(50)), fill="#59636e")
        x_px += 13
    _axes(draw, shares, "Share of the talk (%)", 20.0)
    small = _font(8)
    x_px = float(right_px)
    for colour, name in reversed(list(zip(PARTNER_COLOURS, names, strict=True))):
        x_px -= draw.textlength(name, font=small)
        draw.text((x_px, top_px - 26), name, fill=_INK, font=small)
        x_px -= 30
        draw.rectangle((x_px, top_px - 24, x_px + 24, top_px - 14), fill=colour)
        x_px -= 24

    heard = [(i, p.interruptions) for i, p in enumerate(points) if p.interruptions is not None]
    most = max((n for _, n in heard), default=0)
    interruptions = frame(1, float(most + 1))
    for i, n in heard:
        _bar(draw, interruptions, i, 0.0, float(n), "#6b7480", mark_nought=True)
    unheard = " (not recorded with one microphone: no bar)" if len(heard) < len(points) else ""
    _axes(draw, interruptions, f"Interruptions{unheard}", max(1.0, math.ceil((most + 1) / 5)))

    confirmed = frame(2, 100.0)
    for i, p in enumerate(points):
        if p.confirmed_fraction is not None:
            value = p.confirmed_fraction * 100
            _bar(draw, confirmed, i, 0.0, value, "#6b7480", mark_nought=True)
            mark_y = confirmed.y(value)
            draw.line((confirmed.x(i) - 8, mark_y, confirmed.x(i) + 8, mark_y), fill=_INK, width=2)
    _axes(draw, confirmed, "Paraphrases confirmed first time (%)", 20.0)
    step = max(1, len(points) // 8)
    for i in range(0, len(points), step):
        day = points[i].started_at.astimezone(tz).strftime("%Y-%m-%d")
        draw.text(
            (confirmed.x(i), confirmed.bottom_px + 8), day, fill=_INK, font=small, anchor="mt"
        )
    for panel in (shares, interruptions, confirmed):
        for i in range(0, len(points), step):
            x = panel.x(i)
            draw.line((x, panel.bottom_px, x, panel.bottom_px + 4), fill=_INK)
    return _pillow_png(image)


_BAR_WIDTH = 0.7
"""A session's bar, in sessions: the gap between bars is the rest."""


def _bar(
    draw: Any,
    frame: _Frame,
    i: int,
    low: float,
    high: float,
    colour: str,
    *,
    mark_nought: bool = False,
) -> None:
    left, right = frame.x(i - _BAR_WIDTH / 2), frame.x(i + _BAR_WIDTH / 2)
    if high > low:
        draw.rectangle((left, frame.y(high), right, frame.y(low)), fill=colour)
    elif mark_nought:
        # A measured nought: a line on the axis, unlike a figure not recorded.
        draw.line((left, frame.bottom_px - 1, right, frame.bottom_px - 1), fill=colour, width=3)


def _axes(draw: Any, frame: _Frame, title: str, step: float) -> None:
    """A chart's title, its left and bottom axes and the left axis's numbers."""
    small = _font(8)
    draw.text((frame.left_px, frame.top_px - 4), title, fill=_INK, font=_font(10), anchor="ld")
    draw.line((frame.left_px, frame.top_px, frame.left_px, frame.bottom_px), fill=_INK)
    draw.line((frame.left_px, frame.bottom_px, frame.right_px, frame.bottom_px), fill=_INK)
    value = 0.0
    while value <= frame.y_top + 1e-9:
        y = frame.y(value)
        draw.line((frame.left_px - 4, y, frame.left_px, y), fill=_INK)
        draw.text((frame.left_px - 6, y), f"{value:g}", fill=_INK, font=small, anchor="rm")
        value += step
