"""Password hashing with Argon2id (argon2-cffi) and the strength rule. Clear passwords are never stored or logged.

The rule: at least MIN_LENGTH characters, and zxcvbn (a maintained strength estimator) must score the password at
least MIN_SCORE given what it knows of the person (their address, their name) and of the programme, so that common
passwords, keyboard walks and the person's own name are refused; the refusal says why.
"""

from __future__ import annotations

from collections.abc import Iterable

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError
from zxcvbn import zxcvbn

from programme.core.texts import gettext as _
from programme.core.texts import lazy_gettext as _l

#: Argon2id's parameters, pinned here (a library upgrade must not change them silently): RFC 9106's second
#: recommended setting, 64 MiB of memory, 3 passes, 4 lanes; above OWASP's minimum for Argon2id (19 MiB, 2 passes,
#: 1 lane) in memory and passes. A login verifies one hash: under 100 ms on this 2-core machine (bench/pages_bench.py
#: prints the login's median). Hashes made with other parameters are re-made at the next login (needs_rehash).
TIME_COST = 3
MEMORY_COST_KIB = 64 * 1024
PARALLELISM = 4
#: OWASP's minimum for Argon2id (Password Storage Cheat Sheet): m=19 MiB, t=2, p=1.
OWASP_MINIMUM = {"memory_cost_kib": 19 * 1024, "time_cost": 2, "parallelism": 1}



def shipped_hasher() -> PasswordHasher:
    """Argon2id with the parameters above (the tests swap in a cheaper one, and check this one)."""
    return PasswordHasher(time_cost=TIME_COST, memory_cost=MEMORY_COST_KIB, parallelism=PARALLELISM, hash_len=32,
                          salt_len=16, type=Type.ID)


_hasher = shipped_hasher()
# A hash to verify against when the account does not exist, so that timing does not tell.
_DUMMY_HASH = _hasher.hash("not-a-real-password")

MIN_LENGTH = 12
#: zxcvbn's score from 0 (too guessable) to 4 (very unguessable): below this a password is refused.
MIN_SCORE = 3
#: Words every account of the programme shares: a password built on them is easier to guess.
PROGRAMME_WORDS = ("cluster", "programme", "program", "funding", "development", "contest")
#: What zxcvbn says of a weak password (its warnings and suggestions, in English), in the language being answered in.
#: A text zxcvbn adds in a later version is shown as it writes it.
ESTIMATOR_TEXTS = {
    "Add another word or two. Uncommon words are better.":
        _l("Add another word or two. Uncommon words are better."),
    "Capitalization doesn't help very much.": _l("Capitalization doesn't help very much."),
    "Reversed words aren't much harder to guess.": _l("Reversed words aren't much harder to guess."),
    "Predictable substitutions like '@' instead of 'a' don't help very much.":
        _l("Predictable substitutions like '@' instead of 'a' don't help very much."),
    "Use a few words, avoid common phrases.": _l("Use a few words, avoid common phrases."),
    "No need for symbols, digits, or uppercase letters.": _l("No need for symbols, digits, or uppercase letters."),
    "Straight rows of keys are easy to guess.": _l("Straight rows of keys are easy to guess."),
    "Short keyboard patterns are easy to guess.": _l("Short keyboard patterns are easy to guess."),
    "This is a top-10 common password.": _l("This is a top-10 common password."),
    "This is similar to a commonly used password.": _l("This is similar to a commonly used password."),
    "A word by itself is easy to guess.": _l("A word by itself is easy to guess."),
    "All-uppercase is almost as easy to guess as all-lowercase.":
        _l("All-uppercase is almost as easy to guess as all-lowercase."),
    "Use a longer keyboard pattern with more turns.": _l("Use a longer keyboard pattern with more turns."),
    'Repeats like "aaa" are easy to guess.': _l('Repeats like "aaa" are easy to guess.'),
    'Repeats like "abcabcabc" are only slightly harder to guess than "abc".':
        _l('Repeats like "abcabcabc" are only slightly harder to guess than "abc".'),
    "This is a top-100 common password.": _l("This is a top-100 common password."),
    "This is a very common password.": _l("This is a very common password."),
    "Names and surnames by themselves are easy to guess.": _l("Names and surnames by themselves are easy to guess."),
    "Common names and surnames are easy to guess.": _l("Common names and surnames are easy to guess."),
    "Avoid repeated words and characters.": _l("Avoid repeated words and characters."),
    'Sequences like "abc" or "6543" are easy to guess.': _l('Sequences like "abc" or "6543" are easy to guess.'),
    "Avoid sequences.": _l("Avoid sequences."),
    "Recent years are easy to guess.": _l("Recent years are easy to guess."),
    "Dates are often easy to guess.": _l("Dates are often easy to guess."),
    "Avoid recent years.": _l("Avoid recent years."),
    "Avoid years that are associated with you.": _l("Avoid years that are associated with you."),
    "Avoid dates and years that are associated with you.": _l("Avoid dates and years that are associated with you."),
}
#: zxcvbn's work grows with the length; what it estimates beyond this length is strong anyway.
_CHECKED_LENGTH = 100


def password_parameters() -> str:
    """The parameters, as the benchmark and the README state them."""
    return f"m={MEMORY_COST_KIB // 1024} MiB, t={TIME_COST}, p={PARALLELISM}"


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


def _inputs(user_inputs: Iterable[str]) -> list[str]:
    words: list[str] = list(PROGRAMME_WORDS)
    for value in user_inputs:
        value = (value or "").strip().lower()
        if not value:
            continue
        words.append(value)
        local = value.split("@")[0]
        parts = local.replace(".", " ").replace("-", " ").replace("_", " ").split()
        words.extend(part for part in [local, "".join(parts), *parts] if len(part) > 2)
    return list(dict.fromkeys(words))


def password_problem(password: str, user_inputs: Iterable[str] = ()) -> str | None:
    """Why a new password is not acceptable (to show beside the field), or None. ``user_inputs``: the person's
    e-mail address, name and the like, which make a password built on them guessable."""
    problems: list[str] = []
    if len(password) < MIN_LENGTH:
        problems.append(_("Use at least %(number)s characters.", number=MIN_LENGTH))
    result = zxcvbn(password[:_CHECKED_LENGTH], user_inputs=_inputs(user_inputs))
    if result["score"] < MIN_SCORE:
        feedback = result.get("feedback") or {}
        warning = feedback.get("warning") or ""
        if warning and not warning.endswith("."):
            warning += "."
        problems.append(_estimator_text(warning) if warning else _("This password is too easy to guess."))
        problems.extend(_estimator_text(text) for text in feedback.get("suggestions") or [])
        if not feedback.get("suggestions"):
            problems.append(_("Add another word or two. Uncommon words are better."))
    return " ".join(dict.fromkeys(problems)) or None


def _estimator_text(text: str) -> str:
    """One of zxcvbn's texts in the language being answered in."""
    translated = ESTIMATOR_TEXTS.get(text)
    return str(translated) if translated is not None else text
