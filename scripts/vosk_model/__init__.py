"""Builds a small vosk model from espeak-ng speech: data, features, network, Kaldi files."""
