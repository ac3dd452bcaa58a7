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
        problems.append(f"Use at least {MIN_LENGTH} characters.")
    result = zxcvbn(password[:_CHECKED_LENGTH], user_inputs=_inputs(user_inputs))
    if result["score"] < MIN_SCORE:
        feedback = result.get("feedback") or {}
        warning = feedback.get("warning") or "This password is too easy to guess."
        problems.append(warning if warning.endswith(".") else warning + ".")
        problems.extend(feedback.get("suggestions") or ["Add another word or two. Uncommon words are better."])
    return " ".join(dict.fromkeys(problems)) or None
