"""The review as one self-contained HTML page: timeline, side-by-side table, kept words.

The page needs nothing but itself: the styles are inline, the drawings are inline SVG,
there is no script, and its content security policy forbids fetching anything, so it
can be opened offline, mailed to a counsellor or read on a phone. Everything on it
comes from the functions in ``review`` and ``history``; this module only lays it out.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import tzinfo
from html import escape

from attune_voice.events import PARTNERS
from attune_voice.review.history import LEFT_ALIGNED, HistoryEntry, history_table, trend
from attune_voice.review.metrics import SessionSummary
from attune_voice.review.text import (
    COACH_COLOUR,
    PARTNER_COLOURS,
    clock,
    metric_rows,
    session_notes,
    timeline_rows,
)
from attune_voice.review.timeline import Timeline

ROW_WIDTH = 1000.0
"""Width of one timeline row in SVG units; it is stretched to the page's width."""

# Lanes of a timeline row, top to bottom: (y, height) in SVG units.
_COACH_LANE = (2.0, 10.0)
_PARTNER_LANES = {"A": (16.0, 22.0), "B": (42.0, 22.0)}
_ROW_HEIGHT = 66.0
_MIN_MARK_WIDTH = 1.5
"""The narrowest a drawn stretch gets, so a short "mm-hm" still shows."""

_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"

_ROOT_STYLE = (
    f":root {{ --a: {PARTNER_COLOURS[0]}; --b: {PARTNER_COLOURS[1]}; --coach: {COACH_COLOUR};"
    " --ink: #1f2328; --soft: #59636e; --line: #d8dde3; }"
)
_STYLE = """
* { box-sizing: border-box; }
body { margin: 0; font: 16px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  color: var(--ink); background: #fff; }
main { max-width: 56rem; margin: 0 auto; padding: 1rem; }
h1 { font-size: 1.5rem; margin: 0 0 .25rem; }
h2 { font-size: 1.15rem; margin: 1.75rem 0 .5rem; }
.meta, .note, figcaption, .legend { color: var(--soft); }
.legend { list-style: none; padding: 0; margin: 0 0 .5rem; display: flex; flex-wrap: wrap;
  gap: .25rem 1rem; font-size: .9rem; }
.swatch { display: inline-block; width: .9rem; height: .9rem; border-radius: .15rem;
  vertical-align: -.1rem; margin-right: .3rem; }
.swatch.floor { opacity: .3; }
.flag { font-size: .8rem; margin-right: .3rem; }
figure { margin: 0 0 .6rem; }
figure.row { display: grid; grid-template-columns: 3.4rem minmax(0, 1fr); column-gap: .35rem; }
.lane-names { position: relative; height: 66px; }
.lane-names span { position: absolute; right: 0; max-width: 100%; overflow: hidden;
  text-overflow: ellipsis; white-space: nowrap; font-size: .75rem; line-height: 1; }
.lane-names .coach { top: 2px; color: var(--soft); font-size: .65rem; }
.lane-names .partner-A { top: 21px; }
.lane-names .partner-B { top: 47px; }
svg.timeline { display: block; width: 100%; height: 66px; }
figcaption { grid-column: 2; display: flex; justify-content: space-between; font-size: .8rem;
  font-variant-numeric: tabular-nums; }
.table-wrap { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
th, td { padding: .4rem .5rem; border-bottom: 1px solid var(--line); text-align: right; }
th[scope=row], thead th:first-child { text-align: left; font-weight: normal; }
thead th { font-weight: 600; border-bottom-width: 3px; }
thead th.partner-A { border-bottom-color: var(--a); }
thead th.partner-B { border-bottom-color: var(--b); }
table.history th, table.history td { white-space: nowrap; }
table.history .text { text-align: left; }
ul.notes { padding-left: 1.1rem; }
ol.words { list-style: none; padding: 0; }
ol.words li { margin: 0 0 .75rem; padding-left: .7rem; border-left: 4px solid var(--line); }
ol.words li.partner-A { border-left-color: var(--a); }
ol.words li.partner-B { border-left-color: var(--b); }
ol.words .who { font-weight: 600; margin: 0; }
ol.words time { color: var(--soft); font-weight: normal; font-size: .85rem; }
ol.words p { margin: .1rem 0 0; }
svg.trend { display: block; width: 100%; height: auto; max-width: 30rem;
  margin-bottom: .5rem; }
footer { margin-top: 2rem; font-size: .85rem; color: var(--soft); }
@media (max-width: 30rem) { main { padding: .75rem; } th, td { padding: .35rem .3rem; } }
"""


def session_html(summary: SessionSummary, laid_out: Timeline, *, when: str = "") -> str:
    """The whole review page of one session; ``when`` is its start, as people read it."""
    names = summary.partners
    meta = [f"{names[0]} and {names[1]}", clock(summary.duration_s)]
    meta.append(summary.end_reason.replace("_", " "))
    if when:
        meta.append(when)
    parts = [
        _head(f"{summary.exercise or 'session'}: {names[0]} and {names[1]}"),
        "<main>",
        "<header>",
        f"<h1>{escape(summary.exercise or 'Session')}</h1>",
        f'<p class="meta">{escape(" · ".join(meta))}</p>',
        "</header>",
        _timeline_section(laid_out),
        _table_section(summary),
    ]
    if laid_out.transcripts:
        parts.append(_words_section(laid_out))
    parts += [_footer(), "</main>", "</body>", "</html>", ""]
    return "\n".join(parts)


def history_html(entries: Sequence[HistoryEntry], tz: tzinfo | None, *, title: str = "") -> str:
    """The history page: trend charts, then one table row per session (oldest first)."""
    parts = [
        _head(title or "attune-voice: sessions over time"),
        "<main>",
        "<header>",
        "<h1>Sessions over time</h1>",
        f'<p class="meta">{len(entries)} session{"" if len(entries) == 1 else "s"}</p>',
        "</header>",
    ]
    if entries:
        parts.append(_trend_section(entries, tz))
        header, rows = history_table(entries, tz)
        cells = [
            "<tr>"
            + "".join(
                f'<th scope="col" class="text">{escape(h)}</th>'
                if i in LEFT_ALIGNED
                else f'<th scope="col">{escape(h)}</th>'
                for i, h in enumerate(header)
            )
            + "</tr>"
        ]
        for row in rows:
            cells.append(
                "<tr>"
                + "".join(
                    f'<td class="text">{escape(cell)}</td>'
                    if i in LEFT_ALIGNED
                    else f"<td>{escape(cell)}</td>"
                    for i, cell in enumerate(row)
                )
                + "</tr>"
            )
        parts += [
            '<section aria-labelledby="h-sessions">',
            '<h2 id="h-sessions">Each session</h2>',
            '<div class="table-wrap"><table class="history">',
            "<thead>" + cells[0] + "</thead>",
            "<tbody>",
            *cells[1:],
            "</tbody></table></div>",
            "</section>",
        ]
    else:
        parts.append('<p class="note">No sessions match.</p>')
    parts += [_footer(), "</main>", "</body>", "</html>", ""]
    return "\n".join(parts)


# --- pieces ---------------------------------------------------------------------------------


def _head(title: str) -> str:
    return "\n".join(
        [
            "<!doctype html>",
            '<html lang="en">',
            "<head>",
            '<meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">',
            '<meta name="referrer" content="no-referrer">',
            f"<title>{escape(title)}</title>",
            f"<style>{_ROOT_STYLE}{_STYLE}</style>",
            "</head>",
            "<body>",
        ]
    )


def _footer() -> str:
    return (
        "<footer>Made by attune-voice on this computer from the session's timings."
        " Nothing on this page was sent anywhere.</footer>"
    )


def _timeline_section(laid_out: Timeline) -> str:
    names = laid_out.names
    legend = [
        _legend_item(PARTNER_COLOURS[0], names[0]),
        _legend_item(PARTNER_COLOURS[1], names[1]),
        _legend_item(COACH_COLOUR, "the coach's prompts"),
        '<li><span class="swatch floor" style="background:var(--ink)"></span>'
        "shading: whose floor it was</li>",
        '<li><span class="flag">▼</span>began during the other\'s turn</li>',
    ]
    if laid_out.pauses:
        legend.append(_legend_item("#c9ced6", "paused"))
    rows = [
        _timeline_row(laid_out, start_t, end_t)
        for start_t, end_t in timeline_rows(laid_out.duration_s)
    ]
    return "\n".join(
        [
            '<section aria-labelledby="h-timeline">',
            '<h2 id="h-timeline">Who spoke when</h2>',
            '<ul class="legend">',
            *legend,
            "</ul>",
            '<div class="rows">',
            *rows,
            "</div>",
            "</section>",
        ]
    )


def _legend_item(colour: str, label: str) -> str:
    return f'<li><span class="swatch" style="background:{colour}"></span>{escape(label)}</li>'


def _timeline_row(laid_out: Timeline, start_t: float, end_t: float) -> str:
    """One row of the timeline: [start_t, end_t) at the same scale as every other row."""
    span_s = end_t - start_t
    shown_end_t = min(end_t, laid_out.duration_s) if laid_out.duration_s > start_t else end_t

    def x(t: float) -> float:
        return (min(max(t, start_t), end_t) - start_t) / span_s * ROW_WIDTH

    def rect(t: float, t_end: float, y: float, h: float, css: str, fill: str, title: str) -> str:
        if t_end <= start_t or t >= end_t:
            return ""
        width = max(_MIN_MARK_WIDTH, x(t_end) - x(t))
        tip = f"<title>{escape(title)}</title>" if title else ""
        return (
            f'<rect class="{css}" x="{x(t):.1f}" y="{y:.1f}" width="{width:.1f}"'
            f' height="{h:.1f}" fill="{fill}">{tip}</rect>'
        )

    names = dict(zip(PARTNERS, laid_out.names, strict=True))
    colours = dict(zip(PARTNERS, PARTNER_COLOURS, strict=True))
    shapes = []
    lanes = [_COACH_LANE, *_PARTNER_LANES.values()]
    for y, h in lanes:
        shapes.append(rect(start_t, shown_end_t, y, h, "lane", "#f3f5f7", ""))
    tick_s = 60.0 if span_s <= 900 else 300.0
    tick_t = start_t + tick_s
    while tick_t < shown_end_t:
        shapes.append(
            f'<line class="tick" x1="{x(tick_t):.1f}" x2="{x(tick_t):.1f}" y1="0"'
            f' y2="{_ROW_HEIGHT}" stroke="#d8dde3" vector-effect="non-scaling-stroke"/>'
        )
        tick_t += tick_s
    for floor in laid_out.floors:
        y, h = _PARTNER_LANES.get(floor.partner, _COACH_LANE)
        title = f"{names.get(floor.partner, floor.partner)}'s floor ({floor.role})"
        shapes.append(
            rect(
                floor.t,
                floor.end_t,
                y - 1,
                h + 2,
                f"floor floor-{floor.partner}",
                colours.get(floor.partner, COACH_COLOUR) + "2e",
                title,
            )
        )
    for pause in laid_out.pauses:
        label = "time-out" if pause.kind == "time_out" else "paused"
        shapes.append(
            rect(
                pause.t,
                pause.end_t,
                0,
                _ROW_HEIGHT,
                "pause",
                "#c9ced699",
                f"{label}, {clock(pause.t)} to {clock(pause.end_t)}",
            )
        )
    y, h = _COACH_LANE
    for prompt in laid_out.prompts:
        shapes.append(rect(prompt.t, prompt.end_t, y, h, "prompt", COACH_COLOUR, prompt.text))
    flags = []
    for span in laid_out.speech:
        when = f"{clock(span.t)} to {clock(span.end_t)}"
        if span.partner is None:
            shapes.append(
                rect(
                    span.t,
                    span.end_t,
                    y + 2,
                    h - 4,
                    "aside",
                    "#b7bcc4",
                    f"speech not attributed, {when}",
                )
            )
            continue
        lane_y, lane_h = _PARTNER_LANES[span.partner]
        name = names[span.partner]
        if span.kind == "backchannel":
            shapes.append(
                rect(
                    span.t,
                    span.end_t,
                    lane_y + lane_h * 0.35,
                    lane_h * 0.3,
                    f"speech speech-{span.partner} backchannel",
                    colours[span.partner],
                    f"{name}: mm-hm, {when}",
                )
            )
            continue
        shapes.append(
            rect(
                span.t,
                span.end_t,
                lane_y + 3,
                lane_h - 6,
                f"speech speech-{span.partner} {span.kind}",
                colours[span.partner],
                f"{name}, {when}"
                + (" (began during the other's turn)" if span.kind == "interruption" else ""),
            )
        )
        if span.kind == "interruption" and start_t <= span.t < end_t:
            mid = x(span.t)
            flags.append(
                f'<polygon class="interruption-flag" points="{mid - 6:.1f},{lane_y - 5:.1f}'
                f' {mid + 6:.1f},{lane_y - 5:.1f} {mid:.1f},{lane_y + 3:.1f}" fill="#1f2328">'
                f"<title>{escape(name)} began during the other's turn, {clock(span.t)}</title>"
                "</polygon>"
            )
    label = f"{clock(start_t)} to {clock(end_t)}"
    body = "".join(shape for shape in shapes if shape) + "".join(flags)
    lane_names = (
        '<div class="lane-names" aria-hidden="true"><span class="coach">coach</span>'
        f'<span class="partner-A">{escape(names["A"])}</span>'
        f'<span class="partner-B">{escape(names["B"])}</span></div>'
    )
    return (
        f'<figure class="row">{lane_names}'
        f'<svg class="timeline" viewBox="0 0 {ROW_WIDTH:.0f} {_ROW_HEIGHT:.0f}"'
        f' preserveAspectRatio="none" role="img" aria-label="Who spoke from {label}">'
        f"{body}</svg>"
        f"<figcaption><span>{clock(start_t)}</span><span>{clock(end_t)}</span></figcaption>"
        "</figure>"
    )


def _table_section(summary: SessionSummary) -> str:
    a_name, b_name = summary.partners
    lines = [
        '<section aria-labelledby="h-table">',
        '<h2 id="h-table">Side by side</h2>',
        '<div class="table-wrap"><table class="metrics">',
        "<thead><tr><th></th>"
        f'<th scope="col" class="partner-A">{escape(a_name)}</th>'
        f'<th scope="col" class="partner-B">{escape(b_name)}</th></tr></thead>',
        "<tbody>",
    ]
    for row in metric_rows(summary):
        lines.append(
            f'<tr data-key="{row.key}"><th scope="row" title="{escape(row.definition)}">'
            f"{escape(row.label)}</th><td>{escape(row.values[0])}</td>"
            f"<td>{escape(row.values[1])}</td></tr>"
        )
    lines += ["</tbody></table></div>", '<ul class="notes">']
    lines += [f"<li>{escape(note)}</li>" for note in session_notes(summary)]
    lines += ["</ul>", "</section>"]
    return "\n".join(lines)


def _words_section(laid_out: Timeline) -> str:
    """The kept words, one item per stretch of one partner's speech within a floor."""
    names = dict(zip(PARTNERS, laid_out.names, strict=True))
    turns: list[tuple[str | None, float, list[str]]] = []
    floor_starts = [floor.t for floor in laid_out.floors]
    last_floor = -1
    for piece in laid_out.transcripts:
        floor = sum(1 for start in floor_starts if start <= piece.t) - 1
        if turns and turns[-1][0] == piece.partner and floor == last_floor:
            turns[-1][2].append(piece.text)
        else:
            turns.append((piece.partner, piece.t, [piece.text]))
        last_floor = floor
    items = []
    for partner, t, texts in turns:
        who = names.get(partner, "") if partner is not None else "not attributed"
        css = f"partner-{partner}" if partner is not None else "partner-none"
        items.append(
            f'<li class="{css}"><p class="who">{escape(who)} <time>{clock(t)}</time></p>'
            f"<p>{escape(' '.join(texts))}</p></li>"
        )
    return "\n".join(
        [
            '<section aria-labelledby="h-words">',
            '<h2 id="h-words">What was said</h2>',
            '<ol class="words">',
            *items,
            "</ol>",
            "</section>",
        ]
    )


_CHART_WIDTH, _CHART_HEIGHT = 400.0, 120.0
_CHART_LEFT, _CHART_BOTTOM = 40.0, 20.0


def _trend_section(entries: Sequence[HistoryEntry], tz: tzinfo | None) -> str:
    points = [trend(entry) for entry in entries]
    days = (
        points[0].started_at.astimezone(tz).strftime("%Y-%m-%d"),
        points[-1].started_at.astimezone(tz).strftime("%Y-%m-%d"),
    )
    names = entries[-1].summary.partners
    return "\n".join(
        [
            '<section aria-labelledby="h-trend">',
            '<h2 id="h-trend">How it changes</h2>',
            '<ul class="legend">',
            _legend_item(PARTNER_COLOURS[0], names[0]),
            _legend_item(PARTNER_COLOURS[1], names[1]),
            "</ul>",
            _bar_chart(
                "Share of the talk",
                [(p.shares[0], p.shares[1]) for p in points],
                days,
                stacked=True,
            ),
            _bar_chart("Interruptions", [(float(p.interruptions), 0.0) for p in points], days),
            _bar_chart(
                "Paraphrases confirmed first time",
                [
                    (p.confirmed_fraction, 0.0) if p.confirmed_fraction is not None else None
                    for p in points
                ],
                days,
                percent=True,
            ),
            "</section>",
        ]
    )


def _bar_chart(
    title: str,
    values: Sequence[tuple[float, float] | None],
    days: tuple[str, str],
    *,
    stacked: bool = False,
    percent: bool = False,
) -> str:
    """A small bar chart, one bar per session, the first and last session's days under
    it; stacked bars are A's share under B's."""
    plot_w = _CHART_WIDTH - _CHART_LEFT - 8
    plot_h = _CHART_HEIGHT - _CHART_BOTTOM - 22
    top = 22.0
    shown = [v for v in values if v is not None]
    if stacked or percent:
        y_max = 1.0
    else:
        y_max = max((v[0] for v in shown), default=0.0)
        y_max = max(1.0, float(int(y_max) + (1 if y_max % 1 else 0)))
    slot = plot_w / max(1, len(values))
    bar_w = max(1.0, min(28.0, slot * 0.7))
    parts = [
        f'<text x="0" y="14" font-size="13" fill="#1f2328">{escape(title)}</text>',
        f'<line x1="{_CHART_LEFT}" x2="{_CHART_WIDTH - 8}" y1="{top + plot_h}"'
        f' y2="{top + plot_h}" stroke="#8a9099"/>',
    ]

    def y_of(value: float) -> float:
        return top + plot_h - value / y_max * plot_h

    base_y = top + plot_h + 14
    parts.append(
        f'<text x="{_CHART_LEFT}" y="{base_y:.1f}" font-size="11" fill="#59636e">{days[0]}</text>'
    )
    if len(values) > 1:
        parts.append(
            f'<text x="{_CHART_WIDTH - 8}" y="{base_y:.1f}" font-size="11" text-anchor="end"'
            f' fill="#59636e">{days[1]}</text>'
        )

    for level, label in ((y_max, _axis_label(y_max, percent or stacked)), (0.0, "0")):
        parts.append(
            f'<text x="{_CHART_LEFT - 6}" y="{y_of(level) + 4:.1f}" font-size="11"'
            f' text-anchor="end" fill="#59636e">{label}</text>'
        )
    if stacked:
        parts.append(
            f'<line x1="{_CHART_LEFT}" x2="{_CHART_WIDTH - 8}" y1="{y_of(0.5):.1f}"'
            f' y2="{y_of(0.5):.1f}" stroke="#59636e" stroke-dasharray="4 3"/>'
        )
    for i, value in enumerate(values):
        x = _CHART_LEFT + slot * i + (slot - bar_w) / 2
        if value is None:
            continue
        first, second = value
        if stacked:
            if first + second <= 0:
                continue
            parts.append(_bar(x, y_of(first), bar_w, y_of(0) - y_of(first), PARTNER_COLOURS[0]))
            parts.append(
                _bar(
                    x,
                    y_of(first + second),
                    bar_w,
                    y_of(first) - y_of(first + second),
                    PARTNER_COLOURS[1],
                )
            )
        else:
            # A measured zero still gets a sliver, unlike a session with nothing to measure.
            height = max(1.5, y_of(0) - y_of(first))
            parts.append(_bar(x, y_of(0) - height, bar_w, height, "#6b7480"))
    return (
        f'<svg class="trend" viewBox="0 0 {_CHART_WIDTH:.0f} {_CHART_HEIGHT:.0f}" role="img"'
        f' aria-label="{escape(title)}, one bar per session, oldest first">'
        + "".join(parts)
        + "</svg>"
    )


def _bar(x: float, y: float, width: float, height: float, fill: str) -> str:
    return (
        f'<rect class="bar" x="{x:.1f}" y="{y:.1f}" width="{width:.1f}"'
        f' height="{max(0.0, height):.1f}" fill="{fill}"/>'
    )


def _axis_label(value: float, percent: bool) -> str:
    return f"{value * 100:.0f}%" if percent else f"{value:.0f}"
