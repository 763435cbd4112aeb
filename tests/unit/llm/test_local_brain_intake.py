"""The local brain filling the triage intake form: one field at a time, values said in passing, the read-back,
corrections, "none" answers, and red flags (negated ones ignored) that transfer at once."""

from __future__ import annotations

from registries.snapshot import RegistrySnapshot
from voice.llm.local_brain import LocalBrain

from .conftest import TODAY
from .harness import SimulatedCall

INTAKE = "submit_triage_intake"


def triage(brain: LocalBrain, snapshot: RegistrySnapshot) -> SimulatedCall:
    return SimulatedCall(brain, snapshot, None, "triage", "triage_nurse", today=TODAY)


async def test_the_form_is_filled_one_question_at_a_time_read_back_and_recorded(
    brain: LocalBrain, snapshot: RegistrySnapshot
) -> None:
    sim = triage(brain, snapshot)
    asked = [
        (await sim.say("I've had a sore throat")).text,
        (await sim.say("since Monday")).text,
        (await sim.say("for about four days")).text,
        (await sim.say("maybe a four")).text,
        (await sim.say("a fever and a cough")).text,
        (await sim.say("I'm taking tylenol and ibuprofen")).text,
    ]
    assert asked == [
        "When did it start?",
        "How long has it been going on?",
        "On a scale from zero to ten, where ten is the worst, how bad is it?",
        "Do you have any other symptoms, like a fever, nausea or dizziness?",
        "Are you taking any medications, including over the counter ones?",
        "Do you have any allergies?",
    ]
    read_back = await sim.say("none that I know of")
    assert read_back.calls == []
    assert read_back.text == (
        "Let me read that back to make sure I have it right. Main concern: I've had a sore throat. "
        "Started: November 16th. Duration: 4 days. Severity: 4 out of 10. Other symptoms: fever and cough. "
        "Medications: tylenol and ibuprofen. Allergies: none. Is that right?"
    )
    done = await sim.say("yes that's right")
    assert done.calls == [
        (
            INTAKE,
            {
                "chief_complaint": "I've had a sore throat",
                "onset": "2026-11-16",
                "duration": "4 days",
                "severity": 4,
                "associated_symptoms": ["fever", "cough"],
                "medications": ["tylenol", "ibuprofen"],
                "allergies": [],
            },
        )
    ]
    assert done.text.startswith("Thank you. I've recorded your answers")
    assert sim.session["intake"]["result"]["severity"] == 4
    # Once recorded, the brain routes as usual.
    assert (await sim.say("no that's all thanks")).tools == ["end_call"]


async def test_values_said_in_passing_are_not_asked_again(
    brain: LocalBrain, snapshot: RegistrySnapshot
) -> None:
    sim = triage(brain, snapshot)
    reply = await sim.say("my stomach hurts, it started yesterday and it's a seven out of ten")
    assert reply.text == "How long has it been going on?"
    reply = await sim.say("about a day")
    assert reply.text == "Do you have any other symptoms, like a fever, nausea or dizziness?"


async def test_the_scales_own_numbers_are_never_the_callers_answer(
    brain: LocalBrain, snapshot: RegistrySnapshot
) -> None:
    """ "On a scale of one to ten, an eight" is 8, not 1; and "seven out of ten" with the seven misheard
    asks again rather than recording the 10 of "out of ten"."""
    scale_question = "On a scale from zero to ten, where ten is the worst, how bad is it?"
    for said, recorded in (
        ("on a scale of one to ten it's an eight", "Severity: 8 out of 10."),
        ("a scale of zero to ten, I'd say three", "Severity: 3 out of 10."),
        ("ten out of ten", "Severity: 10 out of 10."),
    ):
        sim = triage(brain, snapshot)
        for line in ("I have a bad headache", "it started yesterday", "about two days"):
            await sim.say(line)
        assert (await sim.say(said)).text != scale_question
        for line in ("no", "no medications"):
            await sim.say(line)
        assert recorded in (await sim.say("no allergies")).text
    sim = triage(brain, snapshot)
    for line in ("I have a bad headache", "it started yesterday", "about two days"):
        await sim.say(line)
    misheard = await sim.say("it's a heaven out of ten")
    assert misheard.text.endswith(scale_question) and misheard.calls == []


async def test_a_no_at_the_read_back_lets_the_caller_fix_one_part(
    brain: LocalBrain, snapshot: RegistrySnapshot
) -> None:
    sim = triage(brain, snapshot)
    for line in (
        "I hurt my ankle",
        "two days ago",
        "two days",
        "a five",
        "no",
        "no medications",
        "no allergies",
    ):
        await sim.say(line)
    fixed = await sim.say("no, it's a six out of ten")
    assert "Severity: 6 out of 10." in fixed.text and fixed.calls == []
    which = await sim.say("no the medications are wrong")
    assert which.text == "Okay. Are you taking any medications, including over the counter ones?"
    again = await sim.say("I took aspirin")
    assert "Medications: aspirin." in again.text and again.text.endswith("Is that right?")
    done = await sim.say("yes")
    [(name, args)] = done.calls
    assert name == INTAKE
    assert (args["severity"], args["medications"], args["associated_symptoms"]) == (6, ["aspirin"], [])


async def test_a_red_flag_transfers_at_once_and_a_negated_one_does_not(
    brain: LocalBrain, snapshot: RegistrySnapshot
) -> None:
    sim = triage(brain, snapshot)
    calm = await sim.say("I have a cough but no chest pain")
    assert calm.calls == [] and calm.text == "When did it start?"
    urgent = await sim.say("now my face is drooping")
    assert urgent.calls == [("transfer_to_nurse", {"reason": "red flag: stroke signs"})]
    assert urgent.text.startswith(
        "That can be serious. If you feel worse at any point, hang up and call 911."
    )
    assert "connecting you with a nurse" in urgent.text


async def test_a_red_flag_split_by_recognised_punctuation_still_transfers(
    brain: LocalBrain, snapshot: RegistrySnapshot
) -> None:
    sim = triage(brain, snapshot)
    urgent = await sim.say("I can't. Breathe,")  # how Whisper wrote an espeak caller's "I can't breathe"
    assert urgent.calls == [("transfer_to_nurse", {"reason": "red flag: trouble breathing"})]


async def test_asking_for_a_person_leaves_the_form(brain: LocalBrain, snapshot: RegistrySnapshot) -> None:
    sim = triage(brain, snapshot)
    await sim.say("I have a rash on my arm")
    reply = await sim.say("can I talk to a real person please")
    assert reply.tools == ["transfer_to_human"]


async def test_an_allergy_heard_without_its_to_is_still_the_item(
    brain: LocalBrain, snapshot: RegistrySnapshot
) -> None:
    """The recogniser dropped the "to" of "I'm allergic to penicillin": the lead-in still is not part of the item."""
    from voice.llm.local_brain.intake_values import _LIST_LEAD_INS

    assert _LIST_LEAD_INS.sub("", "i'm allergic penicillin").strip() == "penicillin"
    assert _LIST_LEAD_INS.sub("", "i'm allergic to penicillin").strip() == "penicillin"


async def test_a_request_for_a_diagnosis_or_advice_is_declined_and_the_question_asked_again(
    brain: LocalBrain, snapshot: RegistrySnapshot
) -> None:
    sim = triage(brain, snapshot)
    assert (await sim.say("I have a bad headache")).text == "When did it start?"
    declined = [
        (await sim.say("do you think it's a migraine")).text,
        (await sim.say("what medicine should I take for it")).text,
    ]
    no_advice = (
        "I can't give medical advice or say what it might be; the nurse will go over that when they call you "
        "back. When did it start?"
    )
    assert declined == [no_advice, no_advice]
    # Not an answer, not a failed attempt: the intake goes on from the same question.
    assert (await sim.say("yesterday")).text == "How long has it been going on?"
    assert sim.session.get("intake") is None
