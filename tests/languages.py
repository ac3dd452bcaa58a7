"""What the language tests share (issue 19): the Accept-Language headers a browser sends for each language, ways to
read a page written in one, and a person's choice of language.

    client.get(url, headers=SPANISH)           # the request's language
    speaking(user, "pt")                       # the account's language (it wins over the request's)
"""

from __future__ import annotations

import html
import re

from programme.accounts.models import User
from programme.extensions import db

SPANISH = {"Accept-Language": "es-ES,es;q=0.9,en;q=0.5"}
PORTUGUESE = {"Accept-Language": "pt-BR,pt;q=0.9"}
ENGLISH = {"Accept-Language": "en"}


def html_of(response) -> str:
    """The page as sent: its HTML, entities and all."""
    return response.get_data(as_text=True)


def text_of(response) -> str:
    """The page's HTML with its entities read (``&#39;`` is ``'``)."""
    return html.unescape(html_of(response))


def words_of(response) -> str:
    """The page's words: no tags, entities read, single spaces."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", html_of(response))).split())


def field_block(page: str, name: str) -> str:
    """The <div class="field"> that holds the form control named `name` (its label, input and errors)."""
    for block in re.findall(r'<div class="field[^"]*">.*?</div>', page, flags=re.S):
        if f'name="{name}"' in block:
            return html.unescape(block)
    raise AssertionError(f"no field named {name!r} on the page")


def speaking(user: User, language: str | None) -> User:
    """``user`` with ``language`` chosen on their account (None: never chosen), committed."""
    user.language = language
    db.session.commit()
    return user
