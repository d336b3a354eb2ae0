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

``--real`` adds the two-speaker recordings with speaker labels in ``../shared/data/real``:
the live listener and enrolment on one channel, with the labels standing in for the
floors (each segment's holder is the labelled speaker with most of its time, and is
logged as the engine logs a floor holder's speech), so only the voices are measured:
of the speech told by voice with a clear margin, how much went to the right person
(10 ms steps, where one labelled person speaks); how much speech was left unsure; and
the labelled utterances under 1.5 s inside the other's segments (mm-hms) told right.
Labelled turns of ``FLOOR_MIN_S`` or more are logged as floors, so speech heard over the
holder's voice is looked for: printed is how many such parts were credited to the
listener, and how many of them the labels say the listener spoke in.

Run with ``OPENBLAS_NUM_THREADS=1``: on a busy machine OpenBLAS's own threads spin.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from attune_voice.audio.frames import FRAME_SAMPLES, SAMPLE_RATE_HZ, Frame
from attune_voice.audio.wav import read_wav_16k
from attune_voice.config import RoomConfig, TurnConfig
from attune_voice.events import (
    PARTNERS,
    Event,
    FloorEnded,
    FloorEndReason,
    FloorGiven,
    FloorRole,
    Speech,
    SpeechKind,
)
from attune_voice.exercises.library import load_exercise
from attune_voice.listening.at_once import AtOnce
from attune_voice.listening.crosstalk import FarVoices
from attune_voice.listening.enrolment import VoiceEnrolment
from attune_voice.listening.listener import Listener
from attune_voice.listening.speaker_encoder import SpeakerEncoder
from attune_voice.review.metrics import summarize
from attune_voice.session.commands import CommandConfig
from attune_voice.session.engine import SessionEngine
from attune_voice.session.loop import EventLog, SessionLoop
from attune_voice.session.ports import SpeechSegment
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


def play(
    renderer: SpeechRenderer,
    encoder: SpeakerEncoder,
    seed: int,
    microphones: int,
    living_room: bool = False,
    by_voice: bool = True,
    at_once: AtOnce | None = None,
    mm_hms_over_words: float = 0.0,
    microphone_b_db: float = 0.0,
) -> Run:
    exercise = load_exercise("speaker-listener")
    config = RoomConfig(
        seed=seed,
        microphones=microphones,
        mm_hms_over_words=mm_hms_over_words,
        microphone_b_db=microphone_b_db,
    )
    if living_room:
        config = replace(config, living_room=True, crosstalk_db=-10.0)
    room = build_room(renderer, config)
    timed = _Timed()
    voices = VoiceEnrolment(encoder, at_once=at_once) if microphones == 1 else None
    if voices is not None:
        voices.hear = timed.wrap(voices.hear)  # type: ignore[method-assign]
        voices.parts = timed.wrap(voices.parts)  # type: ignore[method-assign]
        voices.learn = timed.wrap(voices.learn)  # type: ignore[method-assign]
    far = FarVoices(encoder) if microphones == 2 and by_voice else None
    if far is not None:
        far.hear = timed.wrap(far.hear)  # type: ignore[method-assign]
        far.parts = timed.wrap(far.parts)  # type: ignore[method-assign]
    events: list[Event] = []
    log = EventLog(learning_voices(events.append, voices))
    engine = SessionEngine(
        exercise,
        DEMO_NAMES,
        PromptVoicePlayer(renderer, room),
        log,
        commands=CommandConfig(break_s=DEMO_BREAK_S),
    )
    loop = SessionLoop(room, engine, Listener(room.channels, voices=voices, far=far))
    loop.run()
    summary = summarize(events)
    a, b = summary.partners_summary
    speech = [e for e in events if isinstance(e, Speech)]
    total_s = sum(e.end_t - e.t for e in speech)
    unsure_s = sum(e.end_t - e.t for e in speech if e.attributed_by == "floor")

    def truth(kind: str) -> tuple[int, int]:
        counts = [sum(1 for s in room.truth if s.kind == kind and s.partner == p) for p in PARTNERS]
        return counts[0], counts[1]

    # Known from the end of the last speech logged before the first turn told by voice
    # (the first told are late: the listener's reactions heard before, told then; a
    # mm-hm over the holder's words is told by the network before both voices are known).
    first = next(
        (
            k
            for k, e in enumerate(speech)
            if e.attributed_by == "voice" and e.speech_kind is SpeechKind.TURN
        ),
        None,
    )
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


REAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "real"


def _labels(rttm: Path) -> list[tuple[float, float, str]]:
    rows = []
    for line in rttm.read_text().splitlines():
        parts = line.split()
        if parts and parts[0] == "SPEAKER":
            start, length = float(parts[3]), float(parts[4])
            rows.append((start, start + length, parts[7]))
    return sorted(rows)


FLOOR_MIN_S = 1.5
"""Labelled turns this long stand for floors in the real recordings."""


def _floor_events(truth: list[tuple[float, float, str]]) -> list[Event]:
    """The labelled turns of ``FLOOR_MIN_S`` or more as floors given and ended, in order."""
    events: list[Event] = []
    for a, b, who in truth:
        if b - a >= FLOOR_MIN_S:
            events.append(FloorGiven(a, who, FloorRole.SHARE, b - a))
            events.append(FloorEnded(b, who, FloorRole.SHARE, FloorEndReason.SILENCE, b - a, 0.0))
    return sorted(events, key=lambda e: e.t)


def real(encoder: SpeakerEncoder, path: Path, at_once: AtOnce | None) -> str | None:
    """One labelled two-speaker recording through the live listener and enrolment (with
    the segmentation network, ``at_once``, or without)."""
    labels = _labels(path)
    names = list(dict.fromkeys(who for _, _, who in labels))
    if len(names) != 2:
        return None
    letter = dict(zip(names, PARTNERS, strict=True))
    truth = [(a, b, letter[w]) for a, b, w in labels]
    pcm = read_wav_16k(path.with_suffix(".wav"), mono=True)[0]
    voices = VoiceEnrolment(encoder, at_once=at_once)
    listener = Listener(1, voices=voices)
    clear = TurnConfig().clear_voice_margin
    told: list[tuple[float, float, str]] = []
    overs: list[tuple[float, float, str]] = []
    unsure_s = total_s = 0.0
    floors = _floor_events(truth)

    def talk_s(partner: str, a: float, b: float) -> float:
        return sum(max(0.0, min(b, y) - max(a, x)) for x, y, w in truth if w == partner)

    def take(inputs: list[Any]) -> None:
        nonlocal unsure_s, total_s
        for seg in inputs:
            if not isinstance(seg, SpeechSegment):
                continue
            if seg.voice is not None and seg.voice.over:
                if seg.voice.margin >= clear:
                    overs.append((seg.start_t, seg.end_t, seg.voice.partner))
                continue
            holder = max(PARTNERS, key=lambda p: talk_s(p, seg.start_t, seg.end_t))
            clear_voice = seg.voice is not None and seg.voice.margin >= clear
            partner = seg.voice.partner if clear_voice and seg.voice is not None else holder
            total_s += seg.end_t - seg.start_t
            if clear_voice:
                told.append((seg.start_t, seg.end_t, partner))
            else:
                unsure_s += seg.end_t - seg.start_t
            kind = SpeechKind.TURN if partner == holder else SpeechKind.BACKCHANNEL
            by = "voice" if clear_voice else "floor"
            voices.learn(Speech(seg.start_t, seg.end_t, partner, kind, by))

    for start in range(0, len(pcm) - FRAME_SAMPLES + 1, FRAME_SAMPLES):
        frame = Frame(pcm[np.newaxis, start : start + FRAME_SAMPLES], start, False)
        while floors and floors[0].t <= frame.t:
            voices.learn(floors.pop(0))
        take(listener.feed(frame))
    take(listener.flush(len(pcm) / SAMPLE_RATE_HZ))
    right_s = wrong_s = 0.0
    for a, b, partner in told:
        for t in np.arange(a, b, 0.01):
            who = {w for x, y, w in truth if x <= t < y}
            if len(who) == 1:
                right_s += 0.01 * (partner in who)
                wrong_s += 0.01 * (partner not in who)
    short = [(a, b, w) for a, b, w in truth if b - a < 1.5]
    short_right = sum(
        1
        for a, b, w in short
        if sum(max(0.0, min(b, y) - max(a, x)) for x, y, v in told if v == w) >= 0.5 * (b - a)
    )
    right = right_s / (right_s + wrong_s) if right_s + wrong_s else 0.0
    overs_right = sum(1 for a, b, w in overs if talk_s(w, a, b) > 0.0)
    return (
        f"{path.stem:<24} told by voice right {100 * right:5.1f}%,"
        f" unsure {100 * unsure_s / max(total_s, 1e-9):5.1f}%,"
        f" short utterances told right {short_right}/{len(short)},"
        f" heard over the holder {overs_right}/{len(overs)} with the listener speaking"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--seeds",
        default="1,2,3,4,5,6,7,8,9,10,11,12",
        help="1-6 were used to design the rules for two voices at once; 7-12 were not.",
    )
    parser.add_argument("--real", action="store_true", help="Also the labelled recordings.")
    parser.add_argument(
        "--microphones",
        default="2,1",
        help="Which runs per seed: 2, 1, both (2,1); 2e is a microphone each in a room "
        "that echoes (the other 10 dB down), 2l the same by level alone, 2q the same as 2e "
        "with B's microphone 6 dB quieter than A's (measured in the session); 1e is one "
        "microphone in that room, about a metre from each (as much tail as voice); 1n is "
        "one microphone without the segmentation network (two voices at once told by the "
        "pieces' departure from each voice alone).",
    )
    parser.add_argument(
        "--mm-hms-over-words",
        type=float,
        default=0.0,
        help="The share of the listener's mm-hms said over the speaker's words rather than "
        "in a pause (the demo: 0).",
    )
    args = parser.parse_args()
    encoder = SpeakerEncoder()
    at_once = AtOnce()
    if args.real:
        for rttm in sorted(REAL.glob("*.rttm")):
            for network in (at_once, None):
                line = real(encoder, rttm, network)
                if line is not None:
                    print(f"{line} ({'with' if network else 'without'} the network)", flush=True)
    seeds = [int(s) for s in args.seeds.split(",") if s]
    if not seeds:
        return
    print(
        "seed  mics  mm-hms A/B  (truth)  interruptions A/B  (truth)  unsure  unsure once known"
        "  told apart  reactions before known  voices CPU"
    )
    with SpeechRenderer() as renderer:
        for seed in seeds:
            for kind in args.microphones.split(","):
                microphones = int(kind[0])
                run = play(
                    renderer,
                    encoder,
                    seed,
                    microphones,
                    living_room=kind[1:] in ("e", "l", "q"),
                    by_voice=kind[1:] != "l",
                    at_once=at_once if kind in ("1", "1e") else None,
                    mm_hms_over_words=args.mm_hms_over_words,
                    microphone_b_db=-6.0 if kind[1:] == "q" else 0.0,
                )
                cpu = (
                    f"{run.voices_cpu_s:.2f} s / {run.session_s:.0f} s"
                    f" = {100 * run.voices_cpu_s / run.session_s:.2f}%,"
                    f" longest call {1000 * run.longest_call_s:.0f} ms"
                    if run.voices_cpu_s > 0
                    else "-"
                )
                bc, tbc = run.backchannels, run.truth_backchannels
                ir, tir = run.interruptions, run.truth_interruptions
                print(
                    f"{seed:>4}  {kind:>4}  {bc[0]:>6}/{bc[1]:<3}  ({tbc[0]}/{tbc[1]})"
                    f"  {ir[0]:>13}/{ir[1]:<3}  ({tir[0]}/{tir[1]})"
                    f"  {100 * run.unsure_share:>5.1f}%  {100 * run.unsure_known_share:>16.1f}%"
                    f"  {run.told_apart!s:<10}  {run.reactions_before_known:>22}  {cpu}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
