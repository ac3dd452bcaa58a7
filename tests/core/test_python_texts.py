"""Every text the programme writes from Python is marked for translation (issue 19): a refusal a service raises, a
flash message, a form's label, hint, choice and error, a notification's subject and body. A text is marked when it is
passed through one of Flask-Babel's functions (``gettext``/``_``, ``lazy_gettext``/``_l``, ``pgettext``,
``ngettext``, ...); an f-string or a plain string literal in one of these places is English for everyone.

The check reads the source (``ast``) of every module of the programme; ``test_languages`` checks that every marked
text has its Spanish and Portuguese translation."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from programme.config import PROJECT_ROOT

pytestmark = pytest.mark.same_on_every_database  # reads the code

PACKAGE = PROJECT_ROOT / "programme"
#: Flask-Babel's marking functions, as the programme imports them.
MARKERS = {"_", "gettext", "lazy_gettext", "_l", "pgettext", "lazy_pgettext", "ngettext", "lazy_ngettext",
           "npgettext"}
#: Calls whose first argument (or ``message``) a person reads.
MESSAGES = {"RuleViolation", "AccessDenied", "flash", "ValidationError", "StopValidation", "MoneyError"}
#: WTForms validators whose ``message`` a person reads.
VALIDATORS = {"DataRequired", "InputRequired", "Length", "NumberRange", "Regexp", "Email", "EqualTo", "AnyOf",
              "NoneOf", "URL", "Optional", "FileRequired", "FileAllowed", "FileSize"}
#: Keyword arguments a person reads, whatever the call.
READ_KEYWORDS = {"label", "description", "message", "subject", "body", "placeholder"}
#: Modules a person never reads the texts of: the command line (operators, in the shell), the migrations (the
#: database's history), the demo's data (content, as a user would have typed it), the rules' validation (it names
#: the file's keys, in English, for whoever writes the file), the API's description (for the programmers who connect
#: a system; the API's refusals are the services', in the language the request asks for).
NOT_READ = ("programme/cli.py", "programme/migrations/", "programme/demo.py", "programme/rulebook/",
            "programme/gunicorn_conf.py", "programme/jobs.py", "programme/api/schemas.py", "programme/api/spec.py")


def _modules() -> list[Path]:
    return sorted(path for path in PACKAGE.rglob("*.py")
                  if not str(path.relative_to(PROJECT_ROOT)).startswith(NOT_READ))


def _name(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return ""


def _unmarked(node: ast.expr | None) -> bool:
    """A text written in English for everyone: a literal with a word in it, an f-string, or one built from them
    (``"a" + b``, ``"%s" % b``, ``"{}".format(b)``)."""
    if node is None:
        return False
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str) and any(c.isalpha() for c in node.value)
    if isinstance(node, ast.JoinedStr):
        return any(isinstance(part, ast.Constant) and any(c.isalpha() for c in str(part.value))
                   for part in node.values)
    if isinstance(node, ast.BinOp):
        return _unmarked(node.left) or _unmarked(node.right)
    if isinstance(node, ast.IfExp):
        return _unmarked(node.body) or _unmarked(node.orelse)
    if isinstance(node, ast.BoolOp):
        return any(_unmarked(value) for value in node.values)
    if isinstance(node, ast.Call):
        if _name(node.func) in MARKERS:
            return False
        if isinstance(node.func, ast.Attribute) and node.func.attr in ("format", "join"):
            return _unmarked(node.func.value)
    return False


def _findings(path: Path) -> Iterator[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    where = path.relative_to(PROJECT_ROOT)
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        called = _name(node.func)
        if called in MARKERS:
            continue
        suspects: list[ast.expr] = []
        if called in MESSAGES or called.endswith("Field"):
            suspects += node.args[:1]
        if called.endswith("Field"):
            suspects += [k.value for k in node.keywords if k.arg == "choices"]
        if called in VALIDATORS or called in MESSAGES or called.endswith("Field") or called == "notify":
            suspects += [k.value for k in node.keywords if k.arg in READ_KEYWORDS]
        elif called not in ("get", "dict"):
            suspects += [k.value for k in node.keywords if k.arg in ("label", "placeholder")]
        for suspect in suspects:
            if isinstance(suspect, (ast.List, ast.Tuple)):  # choices: (value, label) pairs
                for item in suspect.elts:
                    if isinstance(item, ast.Tuple) and len(item.elts) == 2 and _unmarked(item.elts[1]):
                        yield f"{where}:{item.lineno}: {called} choice {ast.unparse(item.elts[1])[:70]}"
            elif _unmarked(suspect):
                yield f"{where}:{suspect.lineno}: {called}({ast.unparse(suspect)[:70]})"


@pytest.mark.parametrize("area", sorted({p.relative_to(PACKAGE).parts[0].removesuffix(".py") for p in _modules()}))
def test_every_text_written_in_python_is_marked(area):
    found = [finding for path in _modules() if path.relative_to(PACKAGE).parts[0].removesuffix(".py") == area
             for finding in _findings(path)]
    assert not found, f"{len(found)} text(s) not marked for translation in {area}:\n" + "\n".join(found)


def test_the_check_finds_what_it_should():
    source = '''
raise RuleViolation(f"The loan {n} is closed.")
raise RuleViolation(_("The loan %(n)s is closed.", n=n))
flash("Saved.")
flash(gettext("Saved."))
name = StringField("Name", validators=[DataRequired(message="Say it")])
kind = SelectField(_l("Kind"), choices=[("a", "Apples"), ("b", _l("Pears"))])
notify(session, subject="Hello " + name, body=text)
'''
    path = PACKAGE / "_probe_for_the_check.py"
    path.write_text(source)
    try:
        found = list(_findings(path))
    finally:
        path.unlink()
    assert sorted(f.split(": ", 1)[1] for f in found) == sorted([
        "RuleViolation(f'The loan {n} is closed.')", "flash('Saved.')", "StringField('Name')",
        "DataRequired('Say it')", "SelectField choice 'Apples'", "notify('Hello ' + name)"])
