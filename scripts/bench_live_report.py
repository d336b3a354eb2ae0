"""How the live bench's figures read (``scripts/bench_live.py``): one block per stage,
each against its target."""

from __future__ import annotations

from typing import Any

import numpy as np
from busy_home import describe_busy_home  # a script beside this one, not a package

PROMPT_START_TARGET_MS = 100.0
EVENT_MARGIN_TARGET_MS = 40.0
PROMPT_ONLY_TARGET_S = 0.5
"""Prompt time taken as speech, per 10 minutes of prompts."""
OVER_TIMED_TARGET = 0.9
OVER_START_TARGET_MS = 100.0


def _spread(values: list[float]) -> str:
    if not values:
        return "none measured"
    array = np.array(values)
    return (
        f"median {np.median(array):6.0f} ms   95% {np.percentile(array, 95):6.0f} ms   "
        f"max {array.max():6.0f} ms   (n={array.size})"
    )


def _verdict(values: list[float], target_ms: float) -> str:
    if not values:
        return "not measured"
    worst = float(np.max(values))
    p95 = float(np.percentile(values, 95))
    if worst <= target_ms:
        return "met by every one"
    return f"{'met' if p95 <= target_ms else 'NOT met'} at 95%, worst {worst:.0f} ms"


def print_figures(figures: dict[str, Any]) -> None:
    stats = figures["stats"]
    echo = stats["echo"] or {}
    hangover_ms = figures["hangover_ms"]
    latency_in_ms, latency_out_ms = (x * 1000 for x in stats["latency_s"])
    prepared = "rendered ahead" if figures["prepare"] else "rendered when said (--no-prepare)"
    print(
        f"attune-voice live figures: PulseAudio null sink, stream latency setting "
        f"{figures['latency_setting']} (stream reports {latency_in_ms:.0f} ms in, "
        f"{latency_out_ms:.0f} ms out), {figures['busy_loops']} busy loops, "
        f"{figures['floors']} floors"
    )
    print(
        f"prompt start: {figures['decisions']} decisions, prompts {prepared}; "
        f"{figures['prepared']} were ready"
    )
    print(f"  decision -> play() (rendering)      {_spread(figures['decision_to_play_ms'])}")
    print(f"  decision -> first sample sent out   {_spread(figures['decision_to_output_ms'])}")
    print(f"  decision -> first sample at speaker {_spread(figures['decision_to_dac_ms'])}")
    print(f"  decision -> first sample heard back {_spread(figures['decision_to_heard_ms'])}")
    print(f"  frame arrival -> decision (loop)    {_spread(figures['frame_to_decision_ms'])}")
    output_ms = figures["output_delay_ms"]
    print(
        f"  (target: audio starts within {PROMPT_START_TARGET_MS:.0f} ms of the decision: "
        f"{_verdict(figures['decision_to_dac_ms'], PROMPT_START_TARGET_MS)} at the speaker; "
        "heard back is an upper bound, it adds the capture path; PortAudio's output time "
        + ("unknown" if output_ms is None else f"{output_ms:.0f} ms")
        + ")"
    )
    print("end of speech")
    print(f"  speech end (ADC) -> segment event   {_spread(figures['speech_end_adc_to_event_ms'])}")
    # The room is a null sink whose monitor is the microphone: it captures each sample
    # as it plays it, so PortAudio's two clocks should agree on a prompt's first sample.
    print("  (check: a prompt's first sample captured (ADC) minus played (DAC), 0 if both")
    print(f"   of PortAudio's times are right: {_spread(figures['capture_minus_output_ms'])})")
    print(f"  speech end (callback) -> event      {_spread(figures['speech_end_to_event_ms'])}")
    print(f"  detected end -> segment event       {_spread(figures['detected_end_to_event_ms'])}")
    target_ms = hangover_ms + EVENT_MARGIN_TARGET_MS
    age_ms = figures["input_age_ms"]
    print(
        f"  (target: within the hang-over {hangover_ms:.0f} ms + {EVENT_MARGIN_TARGET_MS:.0f} ms "
        f"= {target_ms:.0f} ms: {_verdict(figures['speech_end_adc_to_event_ms'], target_ms)} "
        "from the microphone, by each block's capture time as PortAudio tells (a block's "
        "first sample was "
        + ("unknown" if age_ms is None else f"{age_ms:.0f} ms")
        + " old at its callback, median); "
        f"{_verdict(figures['speech_end_to_event_ms'], target_ms)} from the callback, "
        "which takes a block's last sample as captured when its callback began)"
    )
    print(f"  turn start vs played speech         {_spread(figures['segment_start_error_ms'])}")
    print(f"  turn end vs played speech           {_spread(figures['segment_end_error_ms'])}")
    delay = echo.get("delay_ms")
    print("echo")
    if delay is None:
        print("  not heard")
    else:
        leak = echo["leak_db"]
        print(
            f"  delay {echo['delay_min_ms']:.0f}-{echo['delay_max_ms']:.0f} ms (last {delay:.0f}), "
            f"gain {echo['gain_db']:.1f} dB, {echo['measurements']} measurements"
        )
        print(
            "  leaked past the gate: "
            + ("none" if leak is None else f"{leak:.1f} dB of the echo, {echo['leaked_ms']:.0f} ms")
        )
    print(f"  speech heard that no partner said: {figures['not_partner_speech_s']:.2f} s")
    if "hear_through" in figures:
        _print_through(figures["hear_through"])
    if "wall_s" in figures:
        print(describe_busy_home(figures))
    print(
        f"stream\n  callbacks {stats['callbacks']}, worst callback "
        f"{stats['worst_callback_ms']:.2f} ms, longest gap between callbacks "
        f"{figures['longest_callback_gap_ms']:.0f} ms\n  input overflows {stats['overflows']}, "
        f"output underflows {stats['underflows']} ({figures['underflows_at_start']} at start), "
        f"dropped frames {stats['dropped_frames']}, stalls {stats['stalls']}, deaths "
        f"{stats['deaths']} ({stats['silent_deaths']} unflagged), restarts {stats['restarts']}, "
        f"catch-ups {stats['catch_ups']}"
        + (f" (after a {figures['stall_s']:.1f} s stall)" if figures["stall_s"] else "")
        + f", losses {stats['losses']}, "
        f"alsa-lib messages {stats['alsa_messages']}, library lines {stats['library_lines']}"
    )


def _print_through(figures: dict[str, Any]) -> None:
    print("hearing through prompts (--hear-through)")
    per_10 = figures["prompt_only_speech_per_10_min_s"]
    print(
        f"  prompt time taken as speech: {figures['prompt_only_speech_s']:.2f} s in "
        f"{figures['prompt_only_s']:.1f} s of prompts with no partner talking "
        f"({figures['prompts']} prompts, {figures['prompt_s']:.1f} s) = {per_10:.2f} s per "
        f"10 min of prompts (target <= {PROMPT_ONLY_TARGET_S:.1f} s: "
        f"{'met' if per_10 <= PROMPT_ONLY_TARGET_S else 'NOT met'})"
    )
    for purpose, taken_s, into_s, at_s in figures["prompt_only_speech_in"]:
        print(
            f"    in a {purpose} prompt said {at_s:.2f} s into the session: "
            f"{taken_s:.2f} s, from {into_s:.2f} s into it"
        )
    over_s, timed_s = figures["over_s"], figures["over_timed_s"]
    share = timed_s / over_s if over_s else 0.0
    per_line = " ".join(f"{100 * t:.0f}%" for t in figures["over_timed_per_line"])
    print(
        f"  speech over prompts: {figures['over_lines']} lines, {over_s:.1f} s; timed "
        f"{100 * share:.1f}% (per line: {per_line or 'none'}; target >= "
        f"{100 * OVER_TIMED_TARGET:.0f}%: {'met' if share >= OVER_TIMED_TARGET else 'NOT met'})"
    )
    beyond = figures["over_beyond_s"]
    if beyond:
        print(
            f"  speech found beyond the lines (echo taken as their continuation): "
            f"{sum(beyond) / len(beyond):.2f} s per line, most {max(beyond):.2f} s"
        )
    starts = np.array(figures["over_start_ms"], dtype=np.float64)
    found = starts[np.isfinite(starts)]
    if found.size:
        worst = float(np.max(np.abs(found)))
        verdict = (
            "met" if worst <= OVER_START_TARGET_MS and found.size == starts.size else "NOT met"
        )
        print(
            f"  its start found (first onset against the line's first sound): median "
            f"{np.median(found):.0f} ms, worst {found[np.argmax(np.abs(found))]:.0f} ms "
            f"({found.size} of {starts.size} found; each: "
            + " ".join(f"{s:.0f}" for s in starts)
            + f" ms; target within {OVER_START_TARGET_MS:.0f} ms: {verdict})"
        )
    else:
        print(f"  its start found: none of {starts.size} lines")
    said, heard_as = figures["commands_said"], figures["commands_heard_as"]
    right = sum(word == heard for word, heard in zip(said, heard_as, strict=True))
    each = " ".join(f"{word}>{heard}" for word, heard in zip(said, heard_as, strict=True))
    unsaid = " ".join(f"{word} at {t:.1f} s" for t, word in figures["commands_unsaid"])
    print(
        f"  commands said over prompts: {right} of {len(said)} heard as said "
        f"({each or 'none said'}); heard but not said: {unsaid or 'none'}"
    )
    print(f"  {figures['echo_summary']}")
    cpu_s = figures["canceller_cpu_s"]
    wall_s = figures["canceller_wall_s"]
    if cpu_s is None or not wall_s:
        print("  canceller CPU: not measured (no reference played)")
    else:
        calls = max(1, figures["canceller_calls"])
        print(
            f"  canceller CPU: {cpu_s:.1f} s of the loop thread's time over {wall_s:.0f} s of "
            f"wall time = {100 * cpu_s / wall_s:.2f}% of one core "
            f"({1000 * cpu_s / calls:.2f} ms per 20 ms frame)"
        )
