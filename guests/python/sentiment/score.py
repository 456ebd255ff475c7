"""Lexicon-based sentiment scoring (VADER-style): guests/sentiment/src/score.rs in Python, step
for step, so both give the same floats."""
import math

LEXICON = {
    "amazing": 2.8, "angry": -2.3, "annoying": -1.9, "awesome": 3.1, "awful": -2.9,
    "bad": -2.5, "beautiful": 2.9, "best": 3.2, "boring": -1.8, "brilliant": 2.8,
    "broken": -2.0, "cool": 1.3, "crap": -2.2, "delightful": 2.9, "disappointing": -2.2,
    "dumb": -2.3, "excellent": 3.2, "fail": -2.5, "fantastic": 2.9, "fine": 0.8,
    "fun": 2.3, "garbage": -2.6, "glad": 2.0, "good": 1.9, "great": 3.1, "hate": -2.7,
    "helpful": 1.8, "horrible": -2.5, "interesting": 1.7, "lame": -1.8, "love": 3.2,
    "meh": -0.5, "nice": 1.8, "perfect": 2.7, "pointless": -1.8, "poor": -2.1, "sad": -2.1,
    "slow": -1.0, "smart": 1.7, "stupid": -2.4, "superb": 3.1, "terrible": -2.9,
    "thanks": 1.9, "ugly": -2.3, "useful": 1.9, "useless": -2.2, "wonderful": 2.7,
    "worst": -3.1, "wow": 2.0, "wrong": -2.1,
}
NEGATIONS = {"never", "no", "not", "nothing", "nobody", "isn't", "don't", "doesn't", "wasn't", "can't"}
BOOSTERS = {"extremely", "incredibly", "really", "so", "totally", "very"}
# VADER's normalization constant: compound = s / sqrt(s^2 + ALPHA).
ALPHA = 15.0


def signum(x: float) -> float:
    return -1.0 if x < 0.0 or math.copysign(1.0, x) < 0.0 else 1.0


def score(text: str) -> tuple:
    """(positive, negative, neutral, compound) of a text."""
    total_sum, positive, negative, neutral = 0.0, 0.0, 0.0, 0.0
    negate, boost = False, 0.0
    for token in text.split():
        word = "".join(c for c in token if c.isalnum() or c == "'").lower()
        if word in NEGATIONS:
            negate = True
            continue
        if word in BOOSTERS:
            boost += 0.3
            continue
        v = LEXICON.get(word)
        if v is not None:
            v = v + boost * signum(v)
            if negate:
                v *= -0.74
            total_sum += v
            if v > 0.0:
                positive += v
            else:
                negative -= v
            negate, boost = False, 0.0
        elif word:
            neutral += 1.0
    exclamations = float(min(text.count("!"), 4))
    if total_sum != 0.0:
        total_sum += exclamations * 0.292 * signum(total_sum)
    total = positive + negative + neutral

    def share(x: float) -> float:
        return x / total if total > 0.0 else 0.0

    compound = total_sum / math.sqrt(total_sum * total_sum + ALPHA)
    return (share(positive), share(negative), share(neutral), compound)
