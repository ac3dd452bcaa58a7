"""Password hashing with Argon2id (argon2-cffi) and the strength rule. Clear passwords are never stored or logged.

The rule: at least MIN_LENGTH characters, and zxcvbn (a maintained strength estimator) must score the password at
least MIN_SCORE given what it knows of the person (their address, their name) and of the programme, so that common
passwords, keyboard walks and the person's own name are refused; the refusal says why.
"""

from __future__ import annotations

from collections.abc import Iterable

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from zxcvbn import zxcvbn

_hasher = PasswordHasher()
# A hash to verify against when the account does not exist, so that timing does not tell.
_DUMMY_HASH = _hasher.hash("not-a-real-password")

MIN_LENGTH = 12
#: zxcvbn's score from 0 (too guessable) to 4 (very unguessable): below this a password is refused.
MIN_SCORE = 3
#: Words every account of the programme shares: a password built on them is easier to guess.
PROGRAMME_WORDS = ("cluster", "programme", "program", "funding", "development", "contest")
#: zxcvbn's work grows with the length; what it estimates beyond this length is strong anyway.
_CHECKED_LENGTH = 100


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
        problems.append(f"Use at least {MIN_LENGTH} characters.")
    result = zxcvbn(password[:_CHECKED_LENGTH], user_inputs=_inputs(user_inputs))
    if result["score"] < MIN_SCORE:
        feedback = result.get("feedback") or {}
        warning = feedback.get("warning") or "This password is too easy to guess."
        problems.append(warning if warning.endswith(".") else warning + ".")
        problems.extend(feedback.get("suggestions") or ["Add another word or two. Uncommon words are better."])
    return " ".join(dict.fromkeys(problems)) or None
