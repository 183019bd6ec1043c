"""What a new password must be (ASVS 4.0.3 level 1, V2.1; NIST SP 800-63B 5.1.1.2): at least
``MIN_LENGTH`` characters, at most ``MAX_LENGTH`` (long passphrases welcome; Argon2 takes any
length, the bound only keeps a request small), any characters, no composition rules, and not a
common or breached password.

"Common or breached" is the maintained ``zxcvbn`` package (Dropbox's estimator, Python port):
its list of the 30,000 most frequent passwords of public breaches (checked whole, ignoring
case), and its estimate of how many guesses the password takes (keyboard walks, repeats,
dictionary words with digits, dates, the account's own email), which must reach
``MIN_SCORE`` (3: more than 10^8 guesses). No network: the lists ship with the package.
"""

from __future__ import annotations

from zxcvbn import zxcvbn
from zxcvbn.frequency_lists import FREQUENCY_LISTS

MIN_LENGTH = 12
MAX_LENGTH = 1024
MIN_SCORE = 3
ESTIMATE_CHARS = 72  # zxcvbn's own bound; what follows only makes a password longer
BREACHED = frozenset(FREQUENCY_LISTS["passwords"])


def refusal(password: str, email: str = "") -> str | None:
    """Why ``password`` cannot be the new password of the account ``email``, in a sentence
    that says what to do; None when it can be."""
    if len(password) < MIN_LENGTH:
        return (
            f"Choose a password of at least {MIN_LENGTH} characters. A few unrelated words make "
            "a good one that is easy to remember."
        )
    if len(password) > MAX_LENGTH:
        return f"Choose a password of at most {MAX_LENGTH} characters."
    if password.lower() in BREACHED:
        return (
            "This password is one of the most common ones, which attackers try first. Choose "
            "another: a few unrelated words make a good one."
        )
    local = email.partition("@")[0]
    estimate = zxcvbn(password[:ESTIMATE_CHARS], user_inputs=[e for e in (email, local) if e])
    if estimate["score"] < MIN_SCORE:
        warning = estimate["feedback"]["warning"]
        return (
            "This password is too easy to guess"
            + (f" ({warning.rstrip('.')})" if warning else "")
            + ". Choose another: a few unrelated words make a good one."
        )
    return None
