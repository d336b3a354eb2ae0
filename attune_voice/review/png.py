"""The session timeline and the history's trends as PNG images, for sharing.

The session's timeline is drawn with Pillow; the history's charts with matplotlib,
imported inside the function only: it is slow to import and has no place in the
live-session path. Its figures are made with its object API (no pyplot), so nothing
global is touched. Both are returned as PNG bytes; the caller writes them.
"""

from __future__ import annotations

import io
import math
import warnings
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
    """The timeline of one session, in rows of equal scale, as a PNG image.

    Drawn with Pillow alone: importing matplotlib takes a second on a small machine,
    more than the whole picture needs.
    """
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

    def x(self, t: float) -> float:
        span_s = max(self.end_t - self.start_t, 1e-9)
        return self.left_px + (t - self.start_t) / span_s * (self.right_px - self.left_px)

    def y(self, units: float) -> float:
        """A height in lane units (0 at the bottom, _Y_TOP at the top) as a pixel row."""
        return self.bottom_px - units / _Y_TOP * (self.bottom_px - self.top_px)


_Y_TOP = 3.3


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
    else Pillow's own."""
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
    (A under B, with the even line), interruptions, and paraphrases confirmed first time."""
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    points = [trend(entry) for entry in entries]
    positions = list(range(len(points)))
    figure = Figure(figsize=(WIDTH_IN, 6.0), dpi=DPI)
    share_axes, interruption_axes, confirmed_axes = figure.subplots(3, 1, sharex=True)
    names = entries[-1].summary.partners if entries else PARTNERS
    a_shares = [p.shares[0] * 100 for p in points]
    b_shares = [p.shares[1] * 100 for p in points]
    _bars(share_axes, positions, a_shares, PARTNER_COLOURS[0])
    _bars(share_axes, positions, b_shares, PARTNER_COLOURS[1], bottoms=a_shares)
    share_axes.axhline(50, color="#59636e", linestyle="--", linewidth=0.8)
    share_axes.set_ylim(0, 100)
    share_axes.set_title("Share of the talk (%)", loc="left", fontsize=10)
    share_axes.legend(
        handles=[
            Patch(color=PARTNER_COLOURS[0], label=names[0]),
            Patch(color=PARTNER_COLOURS[1], label=names[1]),
        ],
        loc="upper right",
        fontsize=8,
        frameon=False,
        ncol=2,
        bbox_to_anchor=(1.0, 1.3),
    )
    # One microphone cannot hear interruptions: no bar, rather than a bar of nought.
    heard = [
        (i, float(p.interruptions)) for i, p in enumerate(points) if p.interruptions is not None
    ]
    interruptions = [v for _, v in heard]
    _bars(interruption_axes, [i for i, _ in heard], interruptions, "#6b7480")
    interruption_axes.set_ylim(0, max(interruptions, default=0.0) + 1)
    unheard = " (not recorded with one microphone: no bar)" if len(heard) < len(points) else ""
    interruption_axes.set_title(f"Interruptions{unheard}", loc="left", fontsize=10)
    interruption_axes.yaxis.get_major_locator().set_params(integer=True)
    confirmed = [
        (i, p.confirmed_fraction * 100)
        for i, p in enumerate(points)
        if p.confirmed_fraction is not None
    ]
    _bars(confirmed_axes, [i for i, _ in confirmed], [v for _, v in confirmed], "#6b7480")
    # A measured zero still shows, unlike a session with no paraphrase to measure.
    confirmed_axes.scatter(
        [i for i, _ in confirmed],
        [v for _, v in confirmed],
        marker="_",
        s=120,
        color="#1f2328",
        linewidths=1.5,
        zorder=3,
        clip_on=False,
    )
    confirmed_axes.set_ylim(0, 100)
    confirmed_axes.set_title("Paraphrases confirmed first time (%)", loc="left", fontsize=10)
    labels = [p.started_at.astimezone(tz).strftime("%Y-%m-%d") for p in points]
    step = max(1, len(points) // 8)
    confirmed_axes.set_xticks(positions[::step])
    confirmed_axes.set_xticklabels(labels[::step], fontsize=8)
    for axes in (share_axes, interruption_axes, confirmed_axes):
        axes.set_xlim(-0.6, max(len(points), 1) - 0.4)
        for side in ("top", "right"):
            axes.spines[side].set_visible(False)
        axes.tick_params(labelsize=8)
    figure.subplots_adjust(left=0.07, right=0.97, top=0.9, bottom=0.08, hspace=0.5)
    return _png(figure)


def _bars(
    axes: Any,
    positions: Sequence[int],
    heights: Sequence[float],
    colour: str,
    *,
    bottoms: Sequence[float] | None = None,
    width: float = 0.7,
) -> None:
    """Bars as one collection: a patch per bar takes seconds for hundreds of sessions."""
    from matplotlib.collections import PolyCollection

    lows = bottoms if bottoms is not None else [0.0] * len(heights)
    boxes = [
        [
            (x - width / 2, low),
            (x + width / 2, low),
            (x + width / 2, low + h),
            (x - width / 2, low + h),
        ]
        for x, low, h in zip(positions, lows, heights, strict=True)
    ]
    axes.add_collection(PolyCollection(boxes, facecolors=colour, edgecolors="none"))


def _png(figure: Any) -> bytes:
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        # A name in a script the bundled font lacks is drawn as boxes; that must not
        # stop the picture from being made.
        warnings.filterwarnings("ignore", message="Glyph .* missing from font")
        figure.savefig(buffer, format="png", facecolor="white")
    return buffer.getvalue()
