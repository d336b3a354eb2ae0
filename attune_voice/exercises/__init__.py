"""Exercise scripts: the model, the TOML loader and validator, and the built-in library."""
