"""The acoustic model: a small ReLU network over spliced MFCC, trained and re-aligned in numpy."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from .features import CONTEXT, NUM_CEPS, SUBSAMPLING, frame_of_sample, mfcc, output_frames
from .speech import UNK, VOCABULARY, Render, Utterance

F32 = npt.NDArray[np.float32]
I32 = npt.NDArray[np.int32]
SIL = "<sil>"
OFFSETS = np.arange(-CONTEXT, CONTEXT + 1)


@dataclass(frozen=True)
class Inventory:
    """The model's "phones": silence, one per word, and the garbage phone ``[unk]``."""

    states: dict[str, int]
    """HMM states per token, in phone order (silence first)."""

    @property
    def tokens(self) -> list[str]:
        return list(self.states)

    def first_class(self, token: str) -> int:
        offset = 0
        for name, count in self.states.items():
            if name == token:
                return offset
            offset += count
        raise KeyError(token)

    def classes(self, token: str) -> list[int]:
        first = self.first_class(token)
        return list(range(first, first + self.states[token]))

    @property
    def num_classes(self) -> int:
        return sum(self.states.values())


def plan_inventory(renders: Sequence[Render]) -> tuple[Inventory, dict[str, float]]:
    """States per word from the 10th percentile of its rendered length (in output frames)."""
    lengths: dict[str, list[float]] = {}
    for render in renders:
        if len(render.tokens) == 1:
            frames = len(render.pcm) / 160 / SUBSAMPLING
            lengths.setdefault(render.tokens[0], []).append(frames)
    states: dict[str, int] = {SIL: 1}
    typical: dict[str, float] = {}
    for word in VOCABULARY:
        seen = lengths.get(word, [6.0])
        states[word] = int(np.clip(round(float(np.percentile(seen, 10)) * 0.5), 2, 6))
        typical[word] = float(np.median(seen))
    states[UNK] = 3
    typical[UNK] = float(np.median(lengths.get(UNK, [8.0])))
    return Inventory(states), typical


@dataclass
class Corpus:
    """Every utterance's features, padded for context, with one label per output frame."""

    features: F32
    """(frames, NUM_CEPS), each utterance padded by CONTEXT copies of its edge frames."""
    centers: npt.NDArray[np.int64]
    """Index into ``features`` of each output frame's centre."""
    labels: I32
    spans: list[tuple[int, int, tuple[str, ...]]] = field(default_factory=list)
    """(first output frame, end output frame, tokens) of every render in every utterance."""


def _serial_map(
    f: Callable[[npt.NDArray[np.int16]], F32], items: list[npt.NDArray[np.int16]]
) -> list[F32]:
    return [f(item) for item in items]


def build_corpus(
    utterances: Sequence[Utterance],
    inventory: Inventory,
    typical: dict[str, float],
    map_fn: Callable[..., list[F32]] = _serial_map,
) -> Corpus:
    feats = map_fn(mfcc, [u.pcm for u in utterances])
    blocks: list[F32] = []
    centers: list[npt.NDArray[np.int64]] = []
    labels: list[I32] = []
    spans: list[tuple[int, int, tuple[str, ...]]] = []
    base = 0
    out_base = 0
    for utterance, f in zip(utterances, feats, strict=True):
        padded = np.concatenate(
            [np.repeat(f[:1], CONTEXT, 0), f, np.repeat(f[-1:], CONTEXT, 0)]
        ).astype(np.float32)
        blocks.append(padded)
        count = output_frames(len(f))
        centers.append(base + CONTEXT + SUBSAMPLING * np.arange(count, dtype=np.int64))
        label = np.zeros(count, np.int32)
        for start, end, tokens in utterance.spans:
            a = max(0, math.ceil(frame_of_sample(start)))
            b = min(count, math.floor(frame_of_sample(end - 1)) + 1)
            if b <= a:
                continue
            spans.append((out_base + a, out_base + b, tokens))
            label[a:b] = proportional(inventory, typical, tokens, b - a)
        labels.append(label)
        base += len(padded)
        out_base += count
    return Corpus(np.concatenate(blocks), np.concatenate(centers), np.concatenate(labels), spans)


def proportional(
    inventory: Inventory, typical: dict[str, float], tokens: Sequence[str], frames: int
) -> I32:
    """A first guess: each word gets frames in proportion to its usual length."""
    weights = np.array([typical[t] for t in tokens])
    edges = np.round(np.concatenate([[0], np.cumsum(weights)]) / weights.sum() * frames)
    out = np.zeros(frames, np.int32)
    for token, a, b in zip(tokens, edges[:-1], edges[1:], strict=True):
        n = int(b - a)
        if n <= 0:
            continue
        classes = inventory.classes(token)
        index = (np.arange(n) * len(classes)) // n
        out[int(a) : int(b)] = np.array(classes)[index]
    return out


# --- the network --------------------------------------------------------------------------


class Mlp:
    """input (spliced, normalised) → ReLU → ReLU → log-softmax."""

    def __init__(self, rng: np.random.Generator, sizes: Sequence[int]) -> None:
        self.weights = [
            (rng.standard_normal((a, b)) * math.sqrt(2.0 / a)).astype(np.float32)
            for a, b in itertools.pairwise(sizes)
        ]
        self.biases = [np.zeros(b, np.float32) for b in sizes[1:]]
        self._m = [np.zeros_like(p) for p in self.params]
        self._v = [np.zeros_like(p) for p in self.params]
        self._step = 0

    @property
    def params(self) -> list[F32]:
        return [*self.weights, *self.biases]

    def forward(self, x: F32) -> list[F32]:
        acts = [x]
        for index, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            z = acts[-1] @ w + b
            if index < len(self.weights) - 1:
                z = np.maximum(z, 0)
            acts.append(z)
        return acts

    def log_probs(self, x: F32) -> F32:
        z = self.forward(x)[-1]
        z = z - z.max(axis=1, keepdims=True)
        return np.asarray(z - np.log(np.exp(z).sum(axis=1, keepdims=True)), dtype=np.float32)

    def train_step(self, x: F32, y: I32, lr: float) -> float:
        acts = self.forward(x)
        z = acts[-1] - acts[-1].max(axis=1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(axis=1, keepdims=True)
        rows = np.arange(len(y))
        loss = float(-np.mean(np.log(p[rows, y] + 1e-12)))
        grad = p
        grad[rows, y] -= 1.0
        grad /= len(y)
        grads_w: list[F32] = []
        grads_b: list[F32] = []
        for index in range(len(self.weights) - 1, -1, -1):
            grads_w.insert(0, acts[index].T @ grad)
            grads_b.insert(0, grad.sum(axis=0))
            if index:
                grad = (grad @ self.weights[index].T) * (acts[index] > 0)
        self._adam([*grads_w, *grads_b], lr)
        return loss

    def _adam(self, grads: list[F32], lr: float) -> None:
        self._step += 1
        b1, b2 = 0.9, 0.999
        scale = lr * math.sqrt(1 - b2**self._step) / (1 - b1**self._step)
        params = self.params
        for i, grad in enumerate(grads):
            # In place: ``params`` holds the very arrays the network computes with.
            self._m[i] *= b1
            self._m[i] += (1 - b1) * grad
            self._v[i] *= b2
            self._v[i] += (1 - b2) * grad * grad
            params[i] -= (scale * self._m[i] / (np.sqrt(self._v[i]) + 1e-8)).astype(np.float32)


SILENCE_KEPT = 0.4
"""Share of the silence frames used in each epoch."""


def batch(corpus: Corpus, index: npt.NDArray[np.int64]) -> F32:
    rows = corpus.centers[index][:, None] + OFFSETS[None, :]
    return np.asarray(corpus.features[rows].reshape(len(index), -1), dtype=np.float32)


def train(
    net: Mlp,
    corpus: Corpus,
    rng: np.random.Generator,
    epochs: int,
    lr: float,
    batch_size: int = 1024,
    silence_kept: float = SILENCE_KEPT,
) -> float:
    """Adam over shuffled frames; most silence frames are skipped in each epoch (there
    are plenty of them and they are easy), which saves a good part of the time."""
    loss = 0.0
    speech_frames = np.flatnonzero(corpus.labels != 0)
    silence_frames = np.flatnonzero(corpus.labels == 0)
    for epoch in range(epochs):
        kept = silence_frames[rng.random(len(silence_frames)) < silence_kept]
        order = rng.permutation(np.concatenate([speech_frames, kept]))
        total = 0.0
        steps = 0
        rate = lr * (0.5 ** (epoch / max(1, epochs - 1)))
        for start in range(0, len(order), batch_size):
            index = order[start : start + batch_size]
            total += net.train_step(batch(corpus, index), corpus.labels[index], rate)
            steps += 1
        loss = total / max(steps, 1)
    return loss


def priors(corpus: Corpus, num_classes: int) -> npt.NDArray[np.float64]:
    """Class frequencies as the network saw them in training (silence thinned)."""
    counts = np.bincount(corpus.labels, minlength=num_classes).astype(np.float64) + 1.0
    counts[0] *= SILENCE_KEPT
    return np.asarray(counts / counts.sum(), dtype=np.float64)


def realign(net: Mlp, corpus: Corpus, inventory: Inventory, typical: dict[str, float]) -> None:
    """Viterbi re-alignment of every render's frames with the trained network."""
    log_prior = np.log(priors(corpus, inventory.num_classes))
    for a, b, tokens in corpus.spans:
        classes = [c for t in tokens for c in inventory.classes(t)]
        if b - a < len(classes):
            corpus.labels[a:b] = proportional(inventory, typical, tokens, b - a)
            continue
        posteriors = net.log_probs(batch(corpus, np.arange(a, b))).astype(np.float64)
        ll = posteriors[:, classes] - log_prior[classes]
        corpus.labels[a:b] = np.array(classes)[viterbi(ll)]


def viterbi(ll: npt.NDArray[np.float64]) -> npt.NDArray[np.int64]:
    """Best left-to-right path through every state, each at least one frame."""
    frames, states = ll.shape
    score = np.full(states, -np.inf)
    score[0] = ll[0, 0]
    moved = np.zeros((frames, states), bool)
    for t in range(1, frames):
        shifted = np.concatenate([[-np.inf], score[:-1]])
        moved[t] = shifted > score
        score = np.where(moved[t], shifted, score) + ll[t]
    path = np.zeros(frames, np.int64)
    state = states - 1
    for t in range(frames - 1, -1, -1):
        path[t] = state
        if t and moved[t, state]:
            state -= 1
    return path


def normalisation(corpus: Corpus) -> tuple[F32, F32]:
    mean = corpus.features.mean(axis=0)
    std = corpus.features.std(axis=0) + 1e-3
    return mean.astype(np.float32), std.astype(np.float32)


def fold_normalisation(net: Mlp, mean: F32, std: F32) -> tuple[F32, F32]:
    """First layer's weights and bias for raw (unnormalised) spliced input."""
    w = net.weights[0] / np.tile(std, 2 * CONTEXT + 1)[:, None]
    b = net.biases[0] - np.tile(mean, 2 * CONTEXT + 1) @ w
    return w.astype(np.float32), b.astype(np.float32)


__all__ = ["NUM_CEPS", "SIL", "Corpus", "Inventory", "Mlp"]
