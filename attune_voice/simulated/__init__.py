"""The simulated room of the demo: the partners, the room, building it."""
