"""Load and validate rules files, with errors that name the file, the key and what was expected."""

from __future__ import annotations

import hashlib
import re
import threading
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ValidationError

from programme.rulebook.programme import ProgrammeRules
from programme.rulebook.schema import CallRules, ScorecardTemplate

M = TypeVar("M", bound=BaseModel)

_LEADING_KEY = re.compile(r"^([A-Za-z_][\w.\[\]]*): (.*)$", re.S)


@dataclass(frozen=True)
class RulesProblem:
    """One thing wrong in a rules file: where (file and dotted key) and what was expected."""

    file: str
    key: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}: {self.key}" if self.key else self.file
        return f"{where}: {self.message}"


class RulesError(ValueError):
    """A rules file that cannot be used; `problems` lists every fault found."""

    def __init__(self, problems: list[RulesProblem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


def _dotted(loc: tuple[Any, ...]) -> str:
    text = ""
    for part in loc:
        if part == "[key]":  # a mapping's key was refused (a language the rules cannot carry): the key names it
            continue
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def _describe(error: dict[str, Any]) -> tuple[str, str]:
    key = _dotted(tuple(error["loc"]))
    message = error["msg"]
    kind = error["type"]
    if kind == "value_error":
        message = message.removeprefix("Value error, ")
        match = _LEADING_KEY.match(message)
        if match:  # a model-level check names the key it is about
            inner, message = match.groups()
            key = f"{key}.{inner}" if key else inner
        return key, f"expected {message}"
    if kind == "missing":
        return key, "missing: this key is required"
    if kind == "extra_forbidden":
        return key, "unknown key (is it misspelt?)"
    value = error.get("input")
    shown = "" if isinstance(value, dict | list) else f" (got {value!r})"
    return key, f"expected: {message[0].lower()}{message[1:]}{shown}"


def _validate(model: type[M], data: dict[str, Any], file: str) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = [RulesProblem(file, *_describe(e)) for e in exc.errors(include_url=False)]
        raise RulesError(problems) from None


def _parse_toml(text: str, file: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text, parse_float=Decimal)
    except tomllib.TOMLDecodeError as exc:
        raise RulesError([RulesProblem(file, "", f"not valid TOML: {exc}")]) from None


def parse_call_rules(text: str, file: str = "<rules>") -> CallRules:
    """The rules in ``text``, validated. A call's rules are read on most of its pages: the same text is parsed once
    per worker process (the rules are frozen models; a text with problems is parsed again, to name them)."""
    return _parsed_call_rules(text, file)


@lru_cache(maxsize=64)
def _parsed_call_rules(text: str, file: str) -> CallRules:
    return _validate(CallRules, _parse_toml(text, file), file)


_by_digest: dict[str, CallRules] = {}
_by_digest_lock = threading.Lock()


def call_rules_by_digest(digest: str, read_source: Callable[[], str], file: str = "<rules>") -> CallRules:
    """A call's rules by the SHA-256 digest of their text: read (``read_source``, a database read) and parsed the
    first time a worker process meets the digest, then kept. A text whose digest is not the one given is parsed
    but not kept under it."""
    found = _by_digest.get(digest)
    if found is not None:
        return found
    source = read_source()
    rules = parse_call_rules(source, file)
    if hashlib.sha256(source.encode("utf-8")).hexdigest() == digest:
        with _by_digest_lock:
            if len(_by_digest) >= 256:
                _by_digest.clear()
            _by_digest[digest] = rules
    return rules


def parse_scorecard_template(text: str, file: str = "<scorecard>") -> ScorecardTemplate:
    return _validate(ScorecardTemplate, _parse_toml(text, file), file)


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RulesError([RulesProblem(str(path), "", "no such file")]) from None
    except (IsADirectoryError, PermissionError) as exc:
        raise RulesError([RulesProblem(str(path), "", f"cannot be read ({exc.strerror})")]) from None
    except UnicodeDecodeError as exc:
        raise RulesError([RulesProblem(str(path), "", f"not UTF-8 text ({exc.reason})")]) from None


def load_call_rules(path: Path | str) -> CallRules:
    path = Path(path)
    return parse_call_rules(_read(path), str(path))


def load_scorecard_template(path: Path | str) -> ScorecardTemplate:
    path = Path(path)
    return parse_scorecard_template(_read(path), str(path))


def parse_programme_rules(text: str, file: str = "<programme rules>") -> ProgrammeRules:
    return _validate(ProgrammeRules, _parse_toml(text, file), file)


def load_programme_rules(path: Path | str) -> ProgrammeRules:
    path = Path(path)
    return parse_programme_rules(_read(path), str(path))


def load_rules_file(path: Path | str) -> CallRules | ScorecardTemplate | ProgrammeRules:
    """Load any kind of rules file, telling them apart by their top-level table."""
    path = Path(path)
    data = _parse_toml(_read(path), str(path))
    if "scorecard" in data:
        return _validate(ScorecardTemplate, data, str(path))
    if "call" in data:
        return _validate(CallRules, data, str(path))
    if "programme" in data:
        return _validate(ProgrammeRules, data, str(path))
    expected = "expected a [call] table (call rules), a [scorecard] table or a [programme] table (programme rules)"
    raise RulesError([RulesProblem(str(path), "", expected)])


def to_utc(moment: datetime, zone: str) -> datetime:
    """A TOML datetime as an aware UTC datetime; one without an offset is local time in `zone`."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(zone))
    return moment.astimezone(UTC)
