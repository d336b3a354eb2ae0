"""Benchmark of the coach's voices: render time per prompt and per session, memory,
loudness before and after normalisation, the chimes against the voice, and
intelligibility as the word error of an offline recogniser.

The prompts are every prompt of the default demo session (speaker-listener, seed 1),
taken from its stored events. Each voice runs in a process of its own, so that its
memory is its own. The recogniser is pocketsphinx with the English model in its wheel;
it is a benchmark tool only, not a dependency of attune-voice:

    .venv/bin/pip install pocketsphinx

Usage: .venv/bin/python scripts/bench_voice_coach.py [--prompts N] [--quiet]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np


def session_prompts() -> list[str]:
    """Every distinct prompt of the default demo session, in the order first said."""
    from click.testing import CliRunner

    from attune_voice.cli.main import cli
    from attune_voice.events import Prompt
    from attune_voice.store.database import Store

    with tempfile.TemporaryDirectory() as home:
        os.environ["ATTUNE_HOME"] = home
        os.environ.pop("ATTUNE_VOICE", None)
        result = CliRunner().invoke(cli, ["demo", "--voice", "espeak-ng", "--format", "json"])
        if result.exit_code != 0:
            raise SystemExit(result.output)
        with Store.open() as store:
            texts = [e.text for e in store.events(1) if isinstance(e, Prompt)]
    return list(dict.fromkeys(texts))


def _words(text: str) -> list[str]:
    return re.sub(r"[^a-z' ]+", " ", text.lower().replace("-", " ")).split()


def word_errors(reference: str, hypothesis: str) -> tuple[int, int]:
    """(substitutions + deletions + insertions, reference words): Levenshtein on words."""
    ref, hyp = _words(reference), _words(hypothesis)
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        previous, row[0] = row[0], i
        for j, h in enumerate(hyp, 1):
            previous, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, previous + (r != h))
    return row[len(hyp)], len(ref)


def _peak_mb() -> float:
    """This process's peak resident memory. Not getrusage: its peak carries over from the
    parent through fork and exec, and the parent has just run a whole demo."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure_voice(name: str, texts: list[str]) -> dict[str, Any]:
    """In this process: load the voice, render every prompt (timed), measure loudness and
    memory; the PCM is kept for the recogniser."""
    from attune_voice.audio.chimes import chime, chime_names
    from attune_voice.voice.coach import ESPEAK, CoachVoice
    from attune_voice.voice.loudness import loudness_dbfs, normalised, peak_dbfs

    base_mb = _peak_mb()
    started = time.perf_counter()
    coach = CoachVoice(name)
    load_s = time.perf_counter() - started
    raw_render = coach._render  # the voice's own render, before normalisation
    rows = []
    for text in texts:
        started = time.perf_counter()
        raw = raw_render(text)
        raw_s = time.perf_counter() - started
        pcm = normalised(raw)
        render_s = time.perf_counter() - started
        rows.append(
            {
                "text": text,
                "audio_s": len(pcm) / 16000,
                "render_s": render_s,
                "raw_render_s": raw_s,
                "rtf": render_s / max(len(pcm) / 16000, 1e-9),
                "raw_dbfs": loudness_dbfs(raw),
                "dbfs": loudness_dbfs(pcm),
                "peak_dbfs": peak_dbfs(pcm),
                "pcm": pcm.tobytes().hex(),
            }
        )
    peak_mb = _peak_mb()
    chimes = {c: loudness_dbfs(chime(c)) for c in chime_names()}
    return {
        "voice": name,
        "engine": "espeak-ng" if name == ESPEAK else "hibari",
        "load_s": load_s,
        "memory_mb": peak_mb - base_mb,
        "prompts": rows,
        "chimes_dbfs": chimes,
    }


def recognise(rows: list[dict[str, Any]]) -> None:
    from pocketsphinx import Decoder  # type: ignore[import-untyped,import-not-found,unused-ignore]

    decoder = Decoder(samprate=16000, logfn=os.devnull)
    for row in rows:
        pcm = bytes.fromhex(row.pop("pcm"))
        # A quarter second of silence either side: the recogniser expects a pause.
        pad = bytes(8000)
        decoder.start_utt()
        decoder.process_raw(pad + pcm + pad, full_utt=True)
        decoder.end_utt()
        hypothesis = decoder.hyp()
        row["heard"] = hypothesis.hypstr if hypothesis is not None else ""
        row["errors"], row["words"] = word_errors(row["text"], row["heard"])


def _child(name: str, texts_path: str) -> None:
    texts = json.loads(Path(texts_path).read_text())
    json.dump(measure_voice(name, texts), sys.stdout)


def _in_a_process(name: str, texts: list[str]) -> dict[str, Any]:
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(texts, f)
    try:
        done = subprocess.run(
            [sys.executable, __file__, "--child", name, f.name],
            capture_output=True,
            text=True,
            check=True,
            env=dict(os.environ, OPENBLAS_NUM_THREADS="1"),
        )
    finally:
        Path(f.name).unlink()
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def _spread(values: list[float]) -> str:
    low, high = min(values), max(values)
    return f"{low:.1f} to {high:.1f} dBFS (spread {high - low:.1f} dB)"


def report(result: dict[str, Any], per_prompt: bool) -> None:
    rows = result["prompts"]
    render = [r["render_s"] for r in rows]
    audio = [r["audio_s"] for r in rows]
    rtf = [r["rtf"] for r in rows]
    print(f"\n== {result['voice']} ({result['engine']}) ==")
    if per_prompt:
        print("render ms audio s    RTF raw dBFS   dBFS   WER  prompt")
        for r in rows:
            wer = f"{r['errors'] / r['words']:.0%}" if "errors" in r else "-"
            print(
                f"{r['render_s'] * 1000:9.1f} {r['audio_s']:7.2f} {r['rtf']:6.3f} "
                f"{r['raw_dbfs']:8.1f} {r['dbfs']:6.1f} {wer:>5}  {r['text'][:60]}"
            )
    print(
        f"voice loaded in {result['load_s']:.2f} s; memory +{result['memory_mb']:.0f} MB"
        " (peak resident)"
    )
    print(
        f"per prompt: render median {np.median(render) * 1000:.0f} ms, longest "
        f"{max(render) * 1000:.0f} ms; RTF median {np.median(rtf):.3f}, worst {max(rtf):.3f}"
    )
    print(
        f"whole session: {len(rows)} prompts, {sum(audio):.1f} s of speech rendered in "
        f"{sum(render):.2f} s (RTF {sum(render) / sum(audio):.4f})"
    )
    print(f"loudness before normalisation: {_spread([r['raw_dbfs'] for r in rows])}")
    print(f"loudness after normalisation:  {_spread([r['dbfs'] for r in rows])}")
    print(f"loudest peak after: {max(r['peak_dbfs'] for r in rows):.1f} dBFS")
    quietest = min(r["dbfs"] for r in rows)
    chimes = result["chimes_dbfs"]
    loudest = max(chimes, key=chimes.get)
    print(
        f"chimes: {min(chimes.values()):.1f} to {chimes[loudest]:.1f} dBFS ({loudest}); the "
        f"loudest is {quietest - chimes[loudest]:.1f} dB below the quietest prompt"
    )
    if rows and "errors" in rows[0]:
        errors = sum(r["errors"] for r in rows)
        words = sum(r["words"] for r in rows)
        per = [r["errors"] / r["words"] for r in rows]
        print(
            f"word error (pocketsphinx): pooled {errors / words:.1%} ({errors} of {words} "
            f"words); per prompt median {np.median(per):.0%}, range {min(per):.0%}-{max(per):.0%}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompts", type=int, help="Only the first N prompts.")
    parser.add_argument("--quiet", action="store_true", help="No per-prompt lines.")
    args = parser.parse_args()
    from attune_voice.voice.coach import known_voices

    names = [v.name for v in known_voices() if v.usable]
    texts = session_prompts()[: args.prompts]
    try:
        import pocketsphinx  # noqa: F401

        listening = True
    except ImportError:
        listening = False
        print("word error skipped: pocketsphinx is missing; .venv/bin/pip install pocketsphinx")
    if len(names) == 1:
        print("the neural voice is not installed: .venv/bin/pip install '.[voice]'")
    print(f"load average {os.getloadavg()[0]:.1f}; {len(texts)} prompts of the default demo")
    for name in names:
        result = _in_a_process(name, texts)
        if listening:
            recognise(result["prompts"])
        report(result, not args.quiet)


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        _child(sys.argv[2], sys.argv[3])
    else:
        main()
