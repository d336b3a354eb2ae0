"""Writes the files libvosk reads: text final.mdl, OpenFst binary HCLG.fst, words and confs."""

from __future__ import annotations

import math
import struct
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

from .features import CONTEXT, MFCC_CONF, NUM_CEPS, SUBSAMPLING
from .nnet import SIL, Inventory
from .speech import UNK

SELF_LOOP_PROB = 0.5
WORD_COST = 2.0
SILENCE_COST = 1.0
UNK_COST = 4.0

MODEL_CONF = f"""\
--min-active=50
--max-active=2000
--beam=12.0
--lattice-beam=4.0
--acoustic-scale=0.5
--frame-subsampling-factor={SUBSAMPLING}
--determinize-max-delay=15
--determinize-min-chunk-size=5
--endpoint.silence-phones=1
--endpoint.rule2.min-trailing-silence=0.5
--endpoint.rule3.min-trailing-silence=1.0
--endpoint.rule4.min-trailing-silence=2.0
"""


def _vector(values: npt.ArrayLike) -> str:
    return " [ " + " ".join(f"{float(v):.7g}" for v in np.ravel(values)) + " ]"


def _matrix(values: npt.NDArray[np.float32]) -> str:
    rows = "\n".join("  " + " ".join(f"{float(v):.7g}" for v in row) for row in values)
    return " [\n" + rows + " ]"


def transition_model(inventory: Inventory) -> str:
    """Kaldi TransitionModel, text form: one left-to-right topology per state count.

    Phone p (1-based, in inventory order) state j has pdf ``first_class(token) + j``.
    Each state has a self-loop (transition index 0) and a forward transition (index 1).
    """
    by_count: dict[int, list[int]] = {}
    for phone, count in enumerate(inventory.states.values(), start=1):
        by_count.setdefault(count, []).append(phone)
    lines = ["<TransitionModel> ", "<Topology> "]
    for count, phones in sorted(by_count.items()):
        lines += ["<TopologyEntry> ", "<ForPhones> ", " ".join(map(str, phones)) + " "]
        lines.append("</ForPhones> ")
        for state in range(count):
            lines.append(
                f"<State> {state} <PdfClass> {state} <Transition> {state} {SELF_LOOP_PROB} "
                f"<Transition> {state + 1} {1 - SELF_LOOP_PROB} </State> "
            )
        lines += [f"<State> {count} </State> ", "</TopologyEntry> "]
    lines.append("</Topology> ")
    tuples = []
    for phone, token in enumerate(inventory.tokens, start=1):
        for state, pdf in enumerate(inventory.classes(token)):
            tuples.append(f"{phone} {state} {pdf} {pdf} ")
    lines += [f"<Tuples> {len(tuples)} ", *tuples, "</Tuples> "]
    log_probs = [0.0] + [math.log(SELF_LOOP_PROB), math.log(1 - SELF_LOOP_PROB)] * len(tuples)
    lines += ["<LogProbs> ", _vector(log_probs), "</LogProbs> ", "</TransitionModel> "]
    return "\n".join(lines) + "\n"


def nnet3(
    layers: Sequence[tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]],
    prior: npt.NDArray[np.float64],
) -> str:
    """AmNnetSimple, text form: affine/ReLU layers and a log-softmax over spliced input."""
    splice = ", ".join(f"Offset(input, {o})" for o in range(-CONTEXT, CONTEXT + 1))
    config = [f"input-node name=input dim={NUM_CEPS}"]
    components: list[str] = []
    previous = f"Append({splice})"
    for index, (w, b) in enumerate(layers, start=1):
        affine = f"affine{index}"
        config.append(f"component-node name={affine} component={affine} input={previous}")
        # Kaldi stores (output, input): the transpose of numpy's x @ w.
        components.append(
            f"<ComponentName> {affine} <AffineComponent> <LearningRate> 0.001 "
            f"<LinearParams> {_matrix(w.T)}\n<BiasParams> {_vector(b)}\n</AffineComponent> "
        )
        if index < len(layers):
            relu = f"relu{index}"
            config.append(f"component-node name={relu} component={relu} input={affine}")
            components.append(
                f"<ComponentName> {relu} <RectifiedLinearComponent> <Dim> {w.shape[1]} "
                "<ValueAvg>  [ ]\n<DerivAvg>  [ ]\n<Count> 0 </RectifiedLinearComponent> "
            )
            previous = relu
        else:
            config.append(f"component-node name=logsoftmax component=logsoftmax input={affine}")
            components.append(
                f"<ComponentName> logsoftmax <LogSoftmaxComponent> <Dim> {w.shape[1]} "
                "<ValueAvg>  [ ]\n<DerivAvg>  [ ]\n<Count> 0 </LogSoftmaxComponent> "
            )
    config.append("output-node name=output input=logsoftmax objective=linear")
    # The config lines follow "<Nnet3> " and a newline, and end at a blank line.
    return (
        "<Nnet3> \n"
        + "\n".join(config)
        + "\n\n"
        + f"<NumComponents> {len(components)} \n"
        + "\n".join(components)
        + "\n</Nnet3> \n"
        + f"<LeftContext> {CONTEXT} <RightContext> {CONTEXT} <Priors> {_vector(prior)}\n"
    )


# --- the decoding graph -------------------------------------------------------------------


def _tid(tuple_index: int, transition: int) -> int:
    """Transition-id of a tuple's self-loop (0) or forward transition (1); 1-based."""
    return 2 * tuple_index + transition + 1


def hclg(inventory: Inventory, word_ids: dict[str, int]) -> bytes:
    """A free loop over every word with optional silence, as an OpenFst vector FST.

    Each word's states follow Kaldi's "reorder" layout: the forward transition out
    of a state comes first, then that state's self-loops, so the lattice tools see
    the phone sequence they expect.
    """
    arcs: dict[int, list[tuple[int, int, float, int]]] = {0: []}
    finals = {0: 0.0}
    next_state = 1
    tuple_index = 0
    loop_cost = -math.log(1 - SELF_LOOP_PROB)
    self_cost = -math.log(SELF_LOOP_PROB)
    for token in inventory.tokens:
        count = inventory.states[token]
        if token == SIL:
            word, cost = 0, SILENCE_COST
        else:
            word, cost = word_ids[token], UNK_COST if token == UNK else WORD_COST
        source = 0
        for state in range(count):
            target = next_state
            next_state += 1
            arcs.setdefault(source, []).append(
                (
                    _tid(tuple_index + state, 1),
                    word if state == 0 else 0,
                    loop_cost + (cost if state == 0 else 0.0),
                    target,
                )
            )
            arcs[target] = [(_tid(tuple_index + state, 0), 0, self_cost, target)]
            source = target
        arcs[source].append((0, 0, 0.0, 0))
        tuple_index += count
    return _vector_fst(arcs, finals, next_state)


def _vector_fst(
    arcs: dict[int, list[tuple[int, int, float, int]]], finals: dict[int, float], states: int
) -> bytes:
    def string(text: str) -> bytes:
        return struct.pack("<i", len(text)) + text.encode()

    num_arcs = sum(len(a) for a in arcs.values())
    expanded_mutable = 0x1 | 0x2  # nothing else claimed: readers compute what they need
    out = [
        struct.pack("<i", 2125659606),
        string("vector"),
        string("standard"),
        struct.pack("<iiQqqq", 2, 0, expanded_mutable, 0, states, num_arcs),
    ]
    for state in range(states):
        out.append(struct.pack("<f", finals.get(state, math.inf)))
        out.append(struct.pack("<q", len(arcs.get(state, []))))
        for ilabel, olabel, weight, target in arcs.get(state, []):
            out.append(struct.pack("<iifi", ilabel, olabel, weight, target))
    return b"".join(out)


# --- the folder ---------------------------------------------------------------------------


def write_model(
    folder: Path,
    inventory: Inventory,
    layers: Sequence[tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]],
    prior: npt.NDArray[np.float64],
) -> None:
    words = [t for t in inventory.tokens if t != SIL]
    word_ids = {word: index for index, word in enumerate(sorted(words), start=1)}
    (folder / "am").mkdir(parents=True)
    (folder / "conf").mkdir()
    (folder / "graph" / "phones").mkdir(parents=True)
    (folder / "am" / "final.mdl").write_text(transition_model(inventory) + nnet3(layers, prior))
    (folder / "conf" / "mfcc.conf").write_text(MFCC_CONF)
    (folder / "conf" / "model.conf").write_text(MODEL_CONF)
    (folder / "graph" / "HCLG.fst").write_bytes(hclg(inventory, word_ids))
    (folder / "graph" / "words.txt").write_text(
        "<eps> 0\n" + "".join(f"{w} {i}\n" for w, i in word_ids.items())
    )
    (folder / "graph" / "phones" / "word_boundary.int").write_text(
        "".join(
            f"{phone} {'nonword' if token == SIL else 'singleton'}\n"
            for phone, token in enumerate(inventory.tokens, start=1)
        )
    )
