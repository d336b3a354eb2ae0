"""Audio in and out: frames, WAV files, resampling, the device and the simulated room."""
