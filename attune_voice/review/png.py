"""The session timeline and the history's trends as PNG images, for sharing.

matplotlib is imported inside the functions only: it is slow to import and has no
place in the live-session path. Figures are made with its object API (no pyplot), so
nothing global is touched, and returned as PNG bytes; the caller writes them.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Sequence
from datetime import tzinfo
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
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    rows = timeline_rows(laid_out.duration_s)
    figure = Figure(figsize=(WIDTH_IN, 1.2 + 1.05 * len(rows)), dpi=DPI)
    axes_list = figure.subplots(len(rows), 1, squeeze=False)[:, 0]
    names = dict(zip(PARTNERS, laid_out.names, strict=True))
    colours = dict(zip(PARTNERS, PARTNER_COLOURS, strict=True))
    for axes, (start_t, end_t) in zip(axes_list, rows, strict=True):
        _draw_row(axes, laid_out, start_t, end_t, names, colours)
    title = headline(summary) + (f"   {subtitle}" if subtitle else "")
    figure.suptitle(title, x=0.01, ha="left", fontsize=12)
    handles = [
        Patch(color=PARTNER_COLOURS[0], label=names["A"]),
        Patch(color=PARTNER_COLOURS[1], label=names["B"]),
        Patch(color=COACH_COLOUR, label="the coach's prompts"),
        Patch(facecolor="#1f2328", alpha=0.12, label="whose floor it was"),
    ]
    figure.legend(
        handles=handles,
        loc="lower left",
        ncol=4,
        frameon=False,
        fontsize=9,
        bbox_to_anchor=(0.01, 0.0),
    )
    figure.subplots_adjust(
        left=0.08,
        right=0.97,
        top=1 - 0.45 / figure.get_figheight(),
        bottom=0.62 / figure.get_figheight(),
        hspace=0.55,
    )
    return _png(figure)


def _draw_row(
    axes: Any,
    laid_out: Timeline,
    start_t: float,
    end_t: float,
    names: dict[str, str],
    colours: dict[str, str],
) -> None:
    from matplotlib.ticker import FuncFormatter, MultipleLocator

    def bars(spans: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
        return [
            (max(t, start_t), max(0.2, min(t_end, end_t) - max(t, start_t)))
            for t, t_end in spans
            if t_end > start_t and t < end_t
        ]

    shown_end_t = min(end_t, max(laid_out.duration_s, start_t))
    for bottom, height in _LANES.values():
        axes.broken_barh([(start_t, shown_end_t - start_t)], (bottom, height), color="#f3f5f7")
    for partner in PARTNERS:
        bottom, height = _LANES[partner]
        floors = [(f.t, f.end_t) for f in laid_out.floors if f.partner == partner]
        axes.broken_barh(
            bars(floors),
            (bottom - 0.1, height + 0.2),
            color=colours[partner],
            alpha=0.18,
            linewidth=0,
        )
        turns = [
            (s.t, s.end_t)
            for s in laid_out.speech
            if s.partner == partner and s.kind != "backchannel"
        ]
        axes.broken_barh(bars(turns), (bottom + 0.1, height - 0.2), color=colours[partner])
        short = [
            (s.t, s.end_t)
            for s in laid_out.speech
            if s.partner == partner and s.kind == "backchannel"
        ]
        axes.broken_barh(bars(short), (bottom + 0.3, height - 0.6), color=colours[partner])
        flags = [
            s.t
            for s in laid_out.speech
            if s.partner == partner and s.kind == "interruption" and start_t <= s.t < end_t
        ]
        if flags:
            axes.scatter(
                flags,
                [bottom + height + 0.12] * len(flags),
                marker="v",
                s=22,
                color="#1f2328",
                zorder=3,
                clip_on=False,
            )
    bottom, height = _LANES["coach"]
    axes.broken_barh(
        bars([(p.t, p.end_t) for p in laid_out.prompts]), (bottom, height), color=COACH_COLOUR
    )
    axes.broken_barh(
        bars([(s.t, s.end_t) for s in laid_out.speech if s.partner is None]),
        (bottom + 0.1, height - 0.2),
        color="#b7bcc4",
    )
    for pause in laid_out.pauses:
        axes.axvspan(
            max(pause.t, start_t), min(pause.end_t, end_t), color="#c9ced6", alpha=0.6, linewidth=0
        )
    axes.set_xlim(start_t, end_t)
    axes.set_ylim(0, 3.3)
    axes.set_yticks([_LANES[p][0] + _LANES[p][1] / 2 for p in ("coach", "A", "B")])
    axes.set_yticklabels(["coach", names["A"], names["B"]], fontsize=9)
    axes.tick_params(axis="y", length=0)
    span_s = end_t - start_t
    axes.xaxis.set_major_locator(MultipleLocator(60.0 if span_s <= 900 else 300.0))
    axes.xaxis.set_major_formatter(FuncFormatter(lambda t, _pos: clock(t)))
    axes.tick_params(axis="x", labelsize=8)
    for side in ("top", "right", "left"):
        axes.spines[side].set_visible(False)


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
    interruptions = [float(p.interruptions) for p in points]
    _bars(interruption_axes, positions, interruptions, "#6b7480")
    interruption_axes.set_ylim(0, max(interruptions, default=0.0) + 1)
    interruption_axes.set_title("Interruptions", loc="left", fontsize=10)
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
