"""attune_voice: a screen-free voice coach for couples practising at home."""

__version__ = "0.1.0"
