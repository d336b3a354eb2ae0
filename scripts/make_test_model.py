"""Builds a small vosk model from scratch, offline, for the tests and the benchmark.

    .venv/bin/python scripts/make_test_model.py test-output/vosk-model

The model knows the voice commands and hand-over phrases (every word in
``vosk_model.speech.VOCABULARY``) and calls everything else ``[unk]``. It is trained
on espeak-ng speech in several accents and voice variants; other variants are kept
out of training so that tests can speak with voices the model never heard. Needs the
espeak-ng program and the ``kaldi-native-fbank`` package (a dev dependency). About
two minutes on two cores.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
RENDERS = 3200
UTTERANCES = 2400
EPOCHS = (5, 3, 3)
"""Training epochs before the first, second and third alignment."""
HIDDEN = 256
INFO_FILE = "attune-test-model.json"


def source_hash() -> str:
    """Names the model this generator makes: a hash of its own source files."""
    digest = hashlib.sha256()
    for path in [HERE / "make_test_model.py", *sorted((HERE / "vosk_model").glob("*.py"))]:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def cached_model_dir() -> Path:
    """Where the tests and the benchmark keep the model: git-ignored, rebuilt on change."""
    return HERE.parent / "test-output" / f"vosk-model-{source_hash()}"


def build(out: Path, seed: int, jobs: int, log: bool = True) -> None:
    # Imported here, so that reading this file for ``cached_model_dir`` stays cheap.
    import numpy as np

    sys.path.insert(0, str(HERE))
    from vosk_model import kaldi_files, nnet, speech
    from vosk_model.features import CONTEXT, NUM_CEPS

    jobs_features = max(1, min(jobs, os.cpu_count() or 1))
    started = time.perf_counter()

    def say(text: str) -> None:
        if log:
            print(f"{time.perf_counter() - started:6.1f}s  {text}", flush=True)

    rng = np.random.default_rng(seed)
    missing = set(speech.TRAINING_VARIANTS) - speech.available_variants()
    if missing:
        raise SystemExit(f"espeak-ng lacks the voice variants {sorted(missing)}")
    renders = speech.render_all(rng, RENDERS, speech.TRAINING_VARIANTS, jobs)
    say(f"rendered {len(renders)} phrases")
    inventory, typical = nnet.plan_inventory(renders)
    say(f"{inventory.num_classes} classes: {inventory.states}")
    utterances = []
    for _ in range(UTTERANCES):
        count = int(rng.choice([1, 1, 2, 2, 3]))
        picked = [renders[int(i)] for i in rng.integers(len(renders), size=count)]
        utterances.append(speech.mix(rng, picked))
    with ProcessPoolExecutor(jobs_features) as pool:
        corpus = nnet.build_corpus(
            utterances,
            inventory,
            typical,
            lambda f, items: list(pool.map(f, items, chunksize=64)),
        )
    say(f"{len(corpus.labels)} training frames")
    mean, std = nnet.normalisation(corpus)
    corpus.features = (corpus.features - mean) / std
    net = nnet.Mlp(rng, [NUM_CEPS * (2 * CONTEXT + 1), HIDDEN, HIDDEN, inventory.num_classes])
    for round_number, epochs in enumerate(EPOCHS):
        if round_number:
            nnet.realign(net, corpus, inventory, typical)
            say("re-aligned")
        loss = nnet.train(net, corpus, rng, epochs, lr=2e-3 if round_number == 0 else 1e-3)
        say(f"trained {epochs} epochs, loss {loss:.3f}")
    prior = nnet.priors(corpus, inventory.num_classes)
    w1, b1 = nnet.fold_normalisation(net, mean, std)
    layers = [(w1, b1), *zip(net.weights[1:], net.biases[1:], strict=True)]

    partial = out.with_name(f"{out.name}.partial-{os.getpid()}")
    shutil.rmtree(partial, ignore_errors=True)
    kaldi_files.write_model(partial, inventory, layers, prior)
    info = {
        "vocabulary": list(speech.VOCABULARY),
        "training_variants": list(speech.TRAINING_VARIANTS),
        "accents": list(speech.ACCENTS),
        "seed": seed,
        "states": inventory.states,
    }
    (partial / INFO_FILE).write_text(json.dumps(info, indent=1) + "\n")
    if out.exists():
        shutil.rmtree(out)
    partial.rename(out)
    say(f"wrote {out}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "out",
        type=Path,
        nargs="?",
        help="the model folder to create (default: the cache the tests use)",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--jobs", type=int, default=4, help="espeak-ng renders in parallel")
    args = parser.parse_args()
    build(args.out or cached_model_dir(), args.seed, args.jobs)


if __name__ == "__main__":
    main()
