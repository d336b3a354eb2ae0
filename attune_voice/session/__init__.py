"""One session: the engine, the loop, consent, the room check and the keys."""
