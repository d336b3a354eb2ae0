"""Frames to speech: detection, the segmenter, channels, recognition, models."""
