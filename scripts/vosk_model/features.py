"""Kaldi-exact MFCC features (kaldi-native-fbank), as libvosk computes them from conf/mfcc.conf."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

NUM_CEPS = 20
NUM_MEL_BINS = 30
CONTEXT = 12
"""Frames of context on each side of the network's input."""
SUBSAMPLING = 3
"""One network output per three 10 ms frames: vosk 0.3.45 assumes 30 ms per output frame."""

MFCC_CONF = f"""\
--sample-frequency=16000
--use-energy=false
--num-ceps={NUM_CEPS}
--num-mel-bins={NUM_MEL_BINS}
--dither=0
"""


def mfcc(pcm: npt.NDArray[np.int16]) -> npt.NDArray[np.float32]:
    """(frames, NUM_CEPS) features; samples at int16 scale, as Kaldi reads them."""
    import kaldi_native_fbank as knf  # type: ignore[import-untyped]  # no type information

    opts = knf.MfccOptions()
    opts.frame_opts.samp_freq = 16000
    opts.frame_opts.dither = 0.0
    opts.mel_opts.num_bins = NUM_MEL_BINS
    opts.num_ceps = NUM_CEPS
    opts.use_energy = False
    computer = knf.OnlineMfcc(opts)
    computer.accept_waveform(16000, pcm.astype(np.float32))
    computer.input_finished()
    count = computer.num_frames_ready
    if count == 0:
        return np.zeros((0, NUM_CEPS), np.float32)
    return np.stack([computer.get_frame(i) for i in range(count)]).astype(np.float32)


def output_frames(input_frames: int) -> int:
    return (input_frames + SUBSAMPLING - 1) // SUBSAMPLING


def frame_of_sample(sample: int) -> float:
    """Output frame (fractional) whose centre is at ``sample``."""
    # Input frame f is centred at 160 f + 200 samples.
    return (sample - 200) / 160 / SUBSAMPLING
