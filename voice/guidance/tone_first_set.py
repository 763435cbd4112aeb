"""The first labelled tone snippets, written with the cue lists (`tone.py`) by their author: the tone reader also
learns its prototypes from them (with `tone_examples.py`), so accuracy on them is a fit, not a measurement.
Shape: (tone, one caller turn)."""

from __future__ import annotations

from voice.guidance.models import Tone

FIRST_TONE_SNIPPETS: tuple[tuple[Tone, str], ...] = (
    # calm
    ("calm", "hi i'd like to check my checking balance please"),
    ("calm", "sure my name is jordan rivera"),
    ("calm", "the last four are four eight two one"),
    ("calm", "it happened yesterday on main street"),
    ("calm", "okay that sounds good thank you"),
    ("calm", "i want to order a replacement card"),
    ("calm", "yes that's right"),
    ("calm", "my policy number is a u four eight two nine one three"),
    ("calm", "i have a sore throat since monday"),
    ("calm", "no that's everything thanks for your help"),
    # confused
    ("confused", "sorry what do you mean by the last four"),
    ("confused", "i don't understand which account you need"),
    ("confused", "wait i'm confused is that my deductible or my limit"),
    ("confused", "huh i'm not sure what you're asking"),
    ("confused", "what does that mean for my claim"),
    ("confused", "i'm lost which number is the policy number"),
    ("confused", "how do i find my card number"),
    ("confused", "sorry can you explain that again i don't get it"),
    ("confused", "what am i supposed to say here"),
    ("confused", "i don't know which card you mean"),
    # frustrated
    ("frustrated", "i already told you my name twice"),
    ("frustrated", "this is the third time i'm calling about this"),
    ("frustrated", "it's still not working after all that"),
    ("frustrated", "how many times do i have to give you my policy number"),
    ("frustrated", "i've been waiting for this replacement card forever"),
    ("frustrated", "come on you keep asking me the same question"),
    ("frustrated", "this is so frustrating nobody ever calls me back"),
    ("frustrated", "every time i call i get a different answer"),
    ("frustrated", "i already gave you the date of the accident"),
    ("frustrated", "seriously again the line dropped last time"),
    # angry
    ("angry", "this is ridiculous you charged me twice"),
    ("angry", "this is completely unacceptable i want a manager"),
    ("angry", "i'm furious you people lost my claim"),
    ("angry", "you are useless just put me through to someone who can help"),
    ("angry", "i'm sick of this i'm going to close my account"),
    ("angry", "this is the worst service i have ever had"),
    ("angry", "i'll be calling my lawyer about this"),
    ("angry", "how dare you freeze my card without asking me"),
    ("angry", "what a pathetic excuse for a bank"),
    ("angry", "i am so angry right now you have no idea"),
    # distressed
    ("distressed", "please help me someone took all the money out of my account"),
    ("distressed", "i'm scared my house is flooding and i don't know what to do"),
    ("distressed", "i'm so worried my son was in the car"),
    ("distressed", "it really hurts and i can't stop shaking"),
    ("distressed", "i'm panicking i think someone stole my identity"),
    ("distressed", "i'm crying sorry i just had an accident"),
    ("distressed", "the pain is unbearable i'm frightened"),
    ("distressed", "i'm afraid i'm losing everything please help"),
    ("distressed", "i'm desperate the rent is due and my card is blocked"),
    ("distressed", "it's an emergency my wallet was stolen and i'm stranded"),
)
