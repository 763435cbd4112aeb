"""A held-out set for the embedded guidance engine, written after the lexicon and `labelled.py`, phrased unlike
either (other words for the same moods; agents that word things their own way), and never used to tune the
engine: its accuracy here is the honest one. Labels are what a supervisor would say, not what the rules say."""

from __future__ import annotations

HELDOUT_TONE: list[tuple[str, str]] = [
    # calm
    ("calm", "good morning i'm calling to ask about a payment i made last week"),
    ("calm", "okay no problem i can wait a second"),
    ("calm", "my date of birth is the third of march nineteen eighty"),
    ("calm", "could you tell me when the adjuster will call"),
    # confused
    ("confused", "hang on which form are you talking about"),
    ("confused", "i thought the deductible was already paid so why is there a charge"),
    ("confused", "sorry i didn't catch that could you repeat the last part"),
    ("confused", "wait is that the routing number or the account number you want"),
    # frustrated
    ("frustrated", "look i've explained this twice now"),
    ("frustrated", "i've been on hold for forty minutes just to get here"),
    ("frustrated", "you said that last week and nothing happened"),
    ("frustrated", "why do i have to verify again i just did it"),
    # angry
    ("angry", "this is a complete scam and you know it"),
    ("angry", "don't you dare put me on hold again"),
    ("angry", "you people are thieves taking my money like that"),
    ("angry", "i'm done with this bank i'm reporting you"),
    # distressed
    ("distressed", "my husband collapsed and i can't find his insurance card"),
    ("distressed", "please i need this sorted today or we'll be evicted"),
    ("distressed", "there's smoke everywhere after the crash and i'm alone"),
    ("distressed", "i can't think straight everything is falling apart"),
]

HELDOUT_CHECKLIST: list[tuple[str, list[tuple[str, str, tuple[str, ...]]], dict[str, str]]] = [
    (
        "banking",
        [
            ("caller", "someone used my card in another state", ()),
            ("agent", "all right jordan your identity checks out and i've locked the card", ("verify_identity", "lock_card")),
            ("agent", "a new one should arrive by friday", ()),
            ("agent", "is there anything else on your mind today", ()),
        ],
        {"identity_verified": "done", "reason_captured": "done", "next_steps_stated": "done", "resolution_confirmed": "done"},
    ),
    (
        "banking",
        [
            ("agent", "thanks you've been verified", ()),
            ("caller", "i'd like to know my balance", ()),
            ("agent", "your balance is three hundred dollars", ("get_balance",)),
            ("agent", "do you need help with something else", ()),
        ],
        {"identity_verified": "done", "reason_captured": "done", "next_steps_stated": "missing", "resolution_confirmed": "done"},
    ),
    (
        "insurance",
        [
            ("caller", "does my policy cover a rental car", ()),
            ("agent", "found your policy", ("lookup_policy",)),
            ("agent", "yes rentals are covered up to thirty dollars a day", ("get_coverage",)),
            ("agent", "the next step is to book through our partner", ()),
        ],
        {"policy_confirmed": "done", "reason_captured": "done", "next_steps_stated": "done", "resolution_confirmed": "missing"},
    ),
    (
        "insurance",
        [
            ("caller", "i just want a human", ()),
            ("agent", "connecting you now", ("transfer_to_human",)),
        ],
        {"policy_confirmed": "not_applicable", "reason_captured": "not_applicable", "next_steps_stated": "not_applicable", "resolution_confirmed": "not_applicable"},
    ),
    (
        "triage",
        [
            ("agent", "before we start please know i can't give medical advice", ()),
            ("caller", "my ankle is swollen", ()),
            ("agent", "when did it start", ()),
            ("caller", "this morning", ()),
            ("agent", "okay a nurse will call you back within the hour", ()),
        ],
        {"disclaimer_given": "done", "reason_captured": "done", "read_back_confirmed": "missing", "intake_recorded": "missing", "next_steps_stated": "done"},
    ),
]  # fmt: skip
