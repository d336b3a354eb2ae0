"""Entry point for ``python -m attune_voice``."""

from attune_voice.cli.main import main

main()
