"""Benchmark of telling voices apart with one microphone (``attune-voice analyze``).

- real two-speaker recordings in ``../shared/data/real``: diarization error rate (missed +
  false alarm + confusion over labelled speaker time, 10 ms frames, no collar, the best
  mapping of found voices to labelled speakers) and the fraction of the time where one
  labelled person talks and speech is found that goes to the right person; on the
  one-speaker recordings, whether one voice is found; on each, the centres' cosine and
  how well the split held for windows left out of it;
- synthetic one-microphone conversations (espeak-ng voices of mixed and of the same
  gender, pink noise, reverb, backchannels, interruptions; and mixed-gender ones whose
  backchannels are said in the speaker's breath): the fraction of single-speaker
  speech time attributed right, mm-hms (turns under 1.5 s) attributed right, and the
  share of speech left unattributed; and one-voice conversations (each voice talking
  with itself): whether one voice is found;
- (the cost, ``analyze --voices`` of a 12-minute mono conversation against Silero's
  single-thread stream, is in ``bench_detection.py``'s speed runs).

Every file is reported; nothing here is tuned to one of them.
"""

from __future__ import annotations

import argparse
import itertools
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_detection import (
    REAL,
    VOICES,
    Speech,
    conversation,
)

from attune_voice.audio.wav import read_wav_16k
from attune_voice.listening.diarization import Diarization, who_spoke_when
from attune_voice.listening.islands import noise_db
from attune_voice.listening.segmentation import Overlap, SpeakerSegmentation
from attune_voice.listening.speaker_encoder import SpeakerEncoder
from attune_voice.listening.subframes import subframe_dbfs
from attune_voice.review.analysis import detect_segments
from attune_voice.voice.tts import SpeechRenderer

STEP_S = 0.01
Labels = list[tuple[float, float, str]]


def read_rttm(path: Path) -> Labels:
    rows = []
    for line in path.read_text().splitlines():
        parts = line.split()
        if parts and parts[0] == "SPEAKER":
            start, length = float(parts[3]), float(parts[4])
            rows.append((start, start + length, parts[7]))
    return rows


def diarize(
    pcm: npt.NDArray[np.int16], encoder: SpeakerEncoder, segmentation: SpeakerSegmentation
) -> tuple[Labels, Diarization]:
    found = detect_segments(iter([pcm[np.newaxis]]), 1)
    segments = [(s.start_t, s.end_t) for s in found]
    clips = [pcm[round(a * 16000) : round(b * 16000)] for a, b in segments]
    at_once = Overlap(segmentation)
    at_once.feed(pcm)
    result = who_spoke_when(
        segments,
        clips,
        encoder,
        room_noise_db=noise_db(subframe_dbfs(pcm)),
        network=at_once.finish(),
    )
    labels = [(s.start_s, s.end_s, "?" if s.voice is None else "AB"[s.voice]) for s in result.spans]
    return labels, result


def frames(labels: Labels, count: int) -> dict[str, npt.NDArray[np.bool_]]:
    out: dict[str, npt.NDArray[np.bool_]] = {}
    for a, b, who in labels:
        mask = out.setdefault(who, np.zeros(count, dtype=bool))
        mask[round(a / STEP_S) : round(b / STEP_S)] = True
    return out


def scores(
    truth: Labels, found: Labels, duration_s: float
) -> tuple[dict[str, float], dict[str, str]]:
    """DER (no collar), single-speaker time right, unattributed share, under the best
    mapping of found voices to labelled speakers; and that mapping."""
    count = int(duration_s / STEP_S) + 1
    ref = frames(truth, count)
    hyp = frames(found, count)
    unknown = hyp.pop("?", np.zeros(count, dtype=bool))
    speakers, voices = sorted(ref), sorted(hyp)
    n_ref = sum((m.astype(int) for m in ref.values()), np.zeros(count, dtype=int))
    n_hyp = sum((m.astype(int) for m in hyp.values()), np.zeros(count, dtype=int)) + unknown
    best: dict[str, float] | None = None
    best_mapping: dict[str, str] = {}
    for chosen in itertools.permutations(speakers, min(len(speakers), len(voices))):
        mapping = dict(zip(voices, chosen, strict=False))
        correct = sum(
            (ref[mapping[v]] & hyp[v]).astype(int) for v in voices if v in mapping
        ) + np.zeros(count, dtype=int)
        error = np.maximum(n_ref, n_hyp) - correct
        single = n_ref == 1
        detected = single & (n_hyp > 0)
        right = sum((hyp[v] & ref[mapping[v]] & detected).sum() for v in voices if v in mapping)
        result = {
            "der": float(error.sum() / max(1, n_ref.sum())),
            "right": float(right / max(1, detected.sum())),
            "unattributed": float((unknown & (n_hyp > 0)).sum() / max(1, (n_hyp > 0).sum())),
        }
        if best is None or result["der"] < best["der"]:
            best, best_mapping = result, mapping
    if best is None:  # nothing attributed at all
        best = {"der": float("nan"), "right": 0.0, "unattributed": 1.0}
    return best, best_mapping


def unsure_share(result: Diarization) -> float:
    """The share of the speech told apart that was not clearly one voice's."""
    told_s = sum(v.end_s - v.start_s for v in result.spans if v.voice is not None)
    return result.unsure_s / max(told_s, 1e-9)


def sure_and_unsure_right(
    truth: Labels, found: Labels, mapping: dict[str, str], result: Diarization, duration_s: float
) -> tuple[str, str]:
    """Single-speaker time right (as ``scores``) where the voices were told with a clear
    margin and where not, as percentages."""
    count = int(duration_s / STEP_S) + 1
    ref = frames(truth, count)
    hyp = frames(found, count)
    hyp.pop("?", None)
    single = sum(m.astype(int) for m in ref.values()) == 1
    detected = single & (sum(m.astype(int) for m in hyp.values()) > 0)
    unsure = frames([(a, b, "u") for a, b in result.unsure], count).get(
        "u", np.zeros(count, dtype=bool)
    )
    right = sum(hyp[v] & ref[mapping[v]] for v in hyp if v in mapping) & detected
    out = []
    for where in (detected & ~unsure, detected & unsure):
        n = int(where.sum())
        out.append(f"{100 * int((right & where).sum()) / n:.1f}%" if n else "-")
    return out[0], out[1]


def short_turns_right(
    truth: Labels, found: Labels, mapping: dict[str, str], limit_s: float = 1.5
) -> dict[bool, tuple[int, int]]:
    """Of the labelled utterances under ``limit_s`` (mm-hms), how many are found mostly
    as their own speaker's voice, under ``mapping`` (the one the whole recording was
    scored with: a mapping chosen for the short turns alone takes the louder voice's
    label over a backchannel for the backchannel's); keyed by whether the utterance
    overlaps the other speaker's speech, as (right, all)."""
    counts = {False: [0, 0], True: [0, 0]}
    for a, b, who in truth:
        if b - a >= limit_s:
            continue
        over = any(x < b and y > a for x, y, w in truth if w != who)
        own = sum(max(0.0, min(b, y) - max(a, x)) for x, y, v in found if mapping.get(v) == who)
        counts[over][0] += own >= 0.5 * (b - a)
        counts[over][1] += 1
    return {over: (right, n) for over, (right, n) in counts.items()}


def real(encoder: SpeakerEncoder, segmentation: SpeakerSegmentation) -> list[str]:
    lines = ["real recordings (10 ms frames, no collar):"]
    for rttm in sorted(REAL.glob("*.rttm")):
        pcm = read_wav_16k(rttm.with_suffix(".wav"), mono=True)[0]
        truth = read_rttm(rttm)
        speakers = len({w for _, _, w in truth})
        found, result = diarize(pcm, encoder, segmentation)
        cosine = "-" if result.centre_cosine is None else f"{result.centre_cosine:.2f}"
        if result.held_out is not None:
            cosine += f"; split held {result.held_out:.2f}"
        if result.alike:
            cosine += ", said to be alike"
        if speakers == 1:
            lines.append(
                f"  {rttm.stem:<24} 1 speaker : {result.voices} voice(s) found "
                f"(centres' cosine {cosine})"
            )
            continue
        s, mapping = scores(truth, found, len(pcm) / 16000)
        sure, unsure = sure_and_unsure_right(truth, found, mapping, result, len(pcm) / 16000)
        lines.append(
            f"  {rttm.stem:<24} {speakers} speakers: DER {100 * s['der']:5.1f}%, "
            f"single-speaker time right {100 * s['right']:5.1f}%, unattributed "
            f"{100 * s['unattributed']:4.1f}%, unsure "
            f"{100 * unsure_share(result):4.1f}% (right where sure {sure}, "
            f"where unsure {unsure}), {result.voices} voice(s) found "
            f"(centres' cosine {cosine})"
        )
    return lines


PAIRS = {
    "mixed": [(0, 1), (2, 3), (4, 5), (6, 7)],
    "same gender": [(0, 2), (4, 6), (1, 3), (5, 7)],
}
BREATHS = {"mixed": False, "same gender": False, "mixed, mm-hms in breaths": True}
"""Each kind of conversation, and whether its backchannels are said in the speaker's
breath (a pause the detector joins into the speaker's segment) rather than over them."""


def synthetic(
    speech: Speech, encoder: SpeakerEncoder, segmentation: SpeakerSegmentation, count: int
) -> list[str]:
    lines = [
        "synthetic one-microphone conversations of 90 s (espeak-ng, pink noise 15-30 dB SNR, "
        "every other one with reverb RT60 0.35 s, backchannels and interruptions):"
    ]
    for kind, breaths in BREATHS.items():
        pairs = PAIRS[kind.split(",")[0]]
        rights, unattributed, ders, unsure = [], [], [], []
        short = {False: [0, 0], True: [0, 0]}
        cosines: list[float] = []
        for k in range(count):
            pair = pairs[k % len(pairs)]
            case = conversation(
                speech,
                300 + k,
                90.0,
                (15.0, 20.0, 25.0, 30.0)[k % 4],
                k % 2 == 0,
                1,
                voices=(VOICES[pair[0]], VOICES[pair[1]]),
                keep_speakers=True,
                breaths=breaths,
            )
            mono = case.pcm[0]
            truth = [(a, b, "AB"[c]) for a, b, c in case.truth]
            found, result = diarize(mono, encoder, segmentation)
            s, mapping = scores(truth, found, mono.shape[0] / 16000)
            rights.append(s["right"])
            ders.append(s["der"])
            unsure.append(unsure_share(result))
            unattributed.append(s["unattributed"])
            for over, (r, n) in short_turns_right(truth, found, mapping).items():
                short[over][0] += r
                short[over][1] += n
            cosines.append(result.centre_cosine or 1.0)
        right, every = (sum(short[o][i] for o in short) for i in (0, 1))
        lines.append(
            f"  {kind:<24} single-speaker time right: mean {np.mean(rights):.3f}, worst "
            f"{np.min(rights):.3f} ({', '.join(f'{r:.3f}' for r in rights)}); mm-hms (< 1.5 s) "
            f"right {right}/{every} ({right / max(1, every):.2f}: alone "
            f"{short[False][0]}/{short[False][1]}, over the other's speech "
            f"{short[True][0]}/{short[True][1]}); "
            f"unattributed {100 * np.mean(unattributed):.1f}%; not clearly one voice's "
            f"{100 * np.mean(unsure):.1f}%; DER "
            f"{', '.join(f'{100 * d:.1f}%' for d in ders)}; centres' cosine "
            f"{', '.join(f'{c:.2f}' for c in cosines)}"
        )
    return lines


def one_voice(
    speech: Speech, encoder: SpeakerEncoder, segmentation: SpeakerSegmentation, count: int
) -> str:
    found = []
    for k in range(count):
        voice = VOICES[k % len(VOICES)]
        case = conversation(
            speech, 400 + k, 90.0, (15.0, 20.0, 25.0, 30.0)[k % 4], k % 2 == 0, 1, (voice, voice)
        )
        result = diarize(case.pcm[0], encoder, segmentation)[1]
        held = "-" if result.held_out is None else f"{result.held_out:.2f}"
        found.append(f"{result.voices} ({result.centre_cosine or 1.0:.2f}; {held})")
    ones = sum(f.startswith("1 ") for f in found)
    return (
        f"  {'one voice':<24} one voice found in {ones} of {count}; voices found (centres' "
        f"cosine; split held): {', '.join(found)}"
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--conversations", type=int, default=8, help="synthetic ones of each kind; 0: none"
    )
    args = parser.parse_args(argv)
    if args.conversations < 0:
        parser.error("--conversations must be 0 or more")
    encoder = SpeakerEncoder()
    segmentation = SpeakerSegmentation()
    for line in real(encoder, segmentation):
        print(line, flush=True)
    if args.conversations == 0:
        return
    with SpeechRenderer() as renderer:
        speech = Speech(renderer)
        for line in synthetic(speech, encoder, segmentation, args.conversations):
            print(line, flush=True)
        print(one_voice(speech, encoder, segmentation, args.conversations), flush=True)


if __name__ == "__main__":
    main()
