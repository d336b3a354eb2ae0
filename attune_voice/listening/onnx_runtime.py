"""onnxruntime sessions for the networks the listener runs (the sole onnxruntime import)."""

from __future__ import annotations

from typing import Any

from attune_voice.errors import ModelError

RUNTIME_REQUIREMENT = "onnxruntime>=1.22.0"
"""1.21.0 dies with an illegal instruction on a Raspberry Pi 4."""


def one_thread_session(model: bytes, runs: str, described: str, hint: str) -> Any:
    """An onnxruntime session of ``model`` on one thread; ModelError when onnxruntime is
    missing or the model cannot be loaded.

    ``runs`` names what the session is for (in "onnxruntime, which runs the voice
    detector, ..."), ``described`` the model in a message, ``hint`` what to reinstall.
    One session may run from several threads at once (onnxruntime releases the GIL):
    that, not its own threads, is how a file's work is shared between the cores.
    """
    try:
        import onnxruntime
    except ImportError as e:
        raise ModelError(
            f"onnxruntime, which runs {runs}, cannot be imported ({e}): "
            f"pip install --force-reinstall '{RUNTIME_REQUIREMENT}'"
        ) from e
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.log_severity_level = 3  # warnings would print; library code never prints
    try:
        return onnxruntime.InferenceSession(
            model, sess_options=options, providers=["CPUExecutionProvider"]
        )
    except Exception as e:  # onnxruntime raises its own untyped errors
        raise ModelError(f"{described} cannot be loaded ({e}): {hint}") from e
