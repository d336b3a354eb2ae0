"""The coach's voice: text-to-speech and the prompt player."""
