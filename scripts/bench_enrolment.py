"""Benchmark of live enrolment: the simulated room with one microphone against two.

For each seed, the demo's session (the speaker-listener exercise as ``attune-voice demo``
plays it) runs twice: with a microphone per partner, and with one room microphone and
the partners' voices learnt during the session. Printed per seed and partner: mm-hms
(backchannels) and interruptions counted by the review, with the room's own truth for
each run; the share of speech left unsure (attributed by the floor although voices
were being told apart); how many of the listener's reactions (truth) came before any
speech was told by voice (before both partners had spoken alone nothing can tell them);
and the CPU the voices cost (keeping the audio, embedding,
labelling, learning) against the session's length, and the longest single call.

Run with ``OPENBLAS_NUM_THREADS=1``: on a busy machine OpenBLAS's own threads spin.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from attune_voice.config import RoomConfig
from attune_voice.events import PARTNERS, Event, Speech
from attune_voice.exercises.library import load_exercise
from attune_voice.listening.enrolment import VoiceEnrolment
from attune_voice.listening.listener import Listener
from attune_voice.listening.speaker_encoder import SpeakerEncoder
from attune_voice.review.metrics import summarize
from attune_voice.session.commands import CommandConfig
from attune_voice.session.engine import SessionEngine
from attune_voice.session.loop import EventLog, SessionLoop
from attune_voice.session.wiring import learning_voices
from attune_voice.simulated.demo import DEMO_NAMES, build_room
from attune_voice.voice.player import PromptVoicePlayer
from attune_voice.voice.tts import SpeechRenderer

DEMO_BREAK_S = 60.0
"""As ``attune-voice demo`` sets it."""


@dataclass
class Run:
    backchannels: tuple[int, int]
    interruptions: tuple[int, int]
    truth_backchannels: tuple[int, int]
    truth_interruptions: tuple[int, int]
    unsure_share: float
    unsure_known_share: float
    """The unsure share of the speech from the first told by voice on."""
    session_s: float
    voices_cpu_s: float
    longest_call_s: float
    """The most CPU one call took (a long segment's pieces): how late its parts come."""
    told_apart: bool
    reactions_before_known: int
    """The listener's mm-hms and interruptions (truth) before both voices were known: only
    told late, when the speech they were part of is still among the pieces kept."""


class _Timed:
    """Adds up the CPU time spent in the wrapped calls."""

    def __init__(self) -> None:
        self.cpu_s = 0.0
        self.longest_s = 0.0

    def wrap(self, call: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any) -> Any:
            start = time.process_time()
            try:
                return call(*args)
            finally:
                spent_s = time.process_time() - start
                self.cpu_s += spent_s
                self.longest_s = max(self.longest_s, spent_s)

        return timed


def play(renderer: SpeechRenderer, encoder: SpeakerEncoder, seed: int, microphones: int) -> Run:
    exercise = load_exercise("speaker-listener")
    room = build_room(renderer, RoomConfig(seed=seed, microphones=microphones))
    timed = _Timed()
    voices = VoiceEnrolment(encoder) if microphones == 1 else None
    if voices is not None:
        voices.hear = timed.wrap(voices.hear)  # type: ignore[method-assign]
        voices.parts = timed.wrap(voices.parts)  # type: ignore[method-assign]
        voices.learn = timed.wrap(voices.learn)  # type: ignore[method-assign]
    events: list[Event] = []
    log = EventLog(learning_voices(events.append, voices))
    engine = SessionEngine(
        exercise,
        DEMO_NAMES,
        PromptVoicePlayer(renderer, room),
        log,
        commands=CommandConfig(break_s=DEMO_BREAK_S),
    )
    loop = SessionLoop(room, engine, Listener(room.channels, voices=voices))
    loop.run()
    summary = summarize(events)
    a, b = summary.partners_summary
    speech = [e for e in events if isinstance(e, Speech)]
    total_s = sum(e.end_t - e.t for e in speech)
    unsure_s = sum(e.end_t - e.t for e in speech if e.attributed_by == "floor")

    def truth(kind: str) -> tuple[int, int]:
        counts = [sum(1 for s in room.truth if s.kind == kind and s.partner == p) for p in PARTNERS]
        return counts[0], counts[1]

    # Known from the end of the last speech logged before the first told by voice (the
    # first told are late: the listener's reactions heard before, told then).
    first = next((k for k, e in enumerate(speech) if e.attributed_by == "voice"), None)
    known_t = 0.0 if voices is None else float("inf")
    if first is not None:
        known_t = max((e.end_t for e in speech[:first]), default=0.0)
    reactions = [s for s in room.truth if s.kind in ("backchannel", "interrupt")]
    before = sum(1 for s in reactions if s.start_t < known_t)
    later = [e for e in speech if e.t >= known_t]
    later_s = sum(e.end_t - e.t for e in later)
    later_unsure_s = sum(e.end_t - e.t for e in later if e.attributed_by == "floor")
    return Run(
        backchannels=(a.backchannels, b.backchannels),
        interruptions=(a.interruptions, b.interruptions),
        truth_backchannels=truth("backchannel"),
        truth_interruptions=truth("interrupt"),
        unsure_share=unsure_s / total_s if voices is not None and total_s else 0.0,
        unsure_known_share=later_unsure_s / later_s if voices is not None and later_s else 0.0,
        session_s=loop.t,
        voices_cpu_s=timed.cpu_s,
        longest_call_s=timed.longest_s,
        told_apart=summary.voices_told_apart,
        reactions_before_known=before,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="1,2,3,4")
    args = parser.parse_args()
    encoder = SpeakerEncoder()
    print(
        "seed  mics  mm-hms A/B  (truth)  interruptions A/B  (truth)  unsure  unsure once known"
        "  told apart  reactions before known  voices CPU"
    )
    with SpeechRenderer() as renderer:
        for seed in (int(s) for s in args.seeds.split(",")):
            for microphones in (2, 1):
                run = play(renderer, encoder, seed, microphones)
                cpu = (
                    f"{run.voices_cpu_s:.2f} s / {run.session_s:.0f} s"
                    f" = {100 * run.voices_cpu_s / run.session_s:.2f}%,"
                    f" longest call {1000 * run.longest_call_s:.0f} ms"
                    if microphones == 1
                    else "-"
                )
                bc, tbc = run.backchannels, run.truth_backchannels
                ir, tir = run.interruptions, run.truth_interruptions
                print(
                    f"{seed:>4}  {microphones:>4}  {bc[0]:>6}/{bc[1]:<3}  ({tbc[0]}/{tbc[1]})"
                    f"  {ir[0]:>13}/{ir[1]:<3}  ({tir[0]}/{tir[1]})"
                    f"  {100 * run.unsure_share:>5.1f}%  {100 * run.unsure_known_share:>16.1f}%"
                    f"  {run.told_apart!s:<10}  {run.reactions_before_known:>22}  {cpu}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
