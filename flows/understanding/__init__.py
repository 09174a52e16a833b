"""Understanding what a client wrote: paraphrase-tolerant FAQ matching, people, language, fields.

The guards (flows/guards.py) read single words; this package reads a message as a whole:
how specifically it matches an FAQ entry or a troubleshooting step (rapidfuzz over the
profile's keywords and sample questions), whether it asks for a person in any wording, which
language it is in once greetings are set aside, and the value inside a sentence that answers
a verification question. Everything here is pure and fast (bench/understanding.py).
"""
