"""Audio in and out: frames, WAV files, resampling, chimes and the sound card."""
