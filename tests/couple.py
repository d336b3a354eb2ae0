"""The tests' couple: the two espeak-ng voices they speak in, and the lines they say."""

VOICES = (("gmw/en-us+m3", 168), ("gmw/en-gb-x-rp+f4", 176))
"""Partner A's and partner B's voice (espeak-ng name, words per minute): a man and a woman."""

LINES = (
    "When I came home on Tuesday, I felt tired and a bit invisible.",
    "I think I wanted someone to ask me how my day went.",
    "Lately I have been worried about money, and I keep it to myself.",
    "I would feel calmer if we sat down once a week to plan.",
    "It means a lot to me when you say thank you for the small things.",
    "I miss the way we used to talk on the sofa.",
)
