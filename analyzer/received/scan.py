"""Split a Received header into its clauses (RFC 5321 §4.4 `Stamp`), tolerant of real-world text.

The scanner is comment-, quote- and literal-aware: ``with`` inside ``(using TLSv1.2 with cipher
...)`` is not a clause (trap 9 of shared reference received-formats.md §6), nested comments and
quoted strings inside comments (ecelerity's certificate subject) stay intact, and an unclosed
parenthesis runs to the end of the text instead of failing. Keywords are case-insensitive.
Tokenising is one linear regex (no nested quantifiers) plus a depth counter, so any input of any
length is scanned in linear time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# One token per match: whitespace, ( ) parentheses, [literal], "quoted", ;, or a run of other
# characters. Each alternative is linear; the last `.` makes any stray character a token.
_TOKEN = re.compile(r'\s+|[()]|\[[^\[\]\n]{0,512}\]|"(?:[^"\\]|\\.){0,2048}"|;|[^\s()\[\];"]+|.')

CLAUSE_WORDS = frozenset({"from", "by", "via", "with", "id", "for", "tls"})
MAX_CLAUSES = 48
"""Real headers have fewer than 15 clauses; past this many, keywords are read as plain words, so
that no input can make the dialect table's per-clause look-ups quadratic."""


@dataclass(slots=True)
class Clause:
    """One clause: its keyword, the words that follow it, and the comments inside it.

    Attributes:
        key: ``from``, ``by``, ``via``, ``with``, ``id``, ``for``, ``tls``, ``date`` or ``""``
            (text before the first keyword).
        items: words and comments in order; comments are kept with their parentheses.
        words: the items that are not comments (filled by ``seal``).
        comments: the comments' texts without the outer parentheses (filled by ``seal``).
    """

    key: str
    items: list[str] = field(default_factory=list)
    words: list[str] = field(default_factory=list)
    comments: list[str] = field(default_factory=list)

    def seal(self) -> None:
        """Split items into words and comments once, after the clause is complete."""
        self.words = [i for i in self.items if not i.startswith("(")]
        self.comments = [i[1:-1].strip() for i in self.items if i.startswith("(")]

    def first_word(self) -> str | None:
        return self.words[0] if self.words else None


@dataclass(slots=True)
class Clauses:
    """A Received header split into clauses, in order of appearance.

    Attributes:
        text: the header with all whitespace runs collapsed to one space.
        clauses: every clause in order; a keyword may occur more than once (Mimecast's two
            ``with``); the text after the last top-level ``;`` is a ``date`` clause.
    """

    text: str
    clauses: list[Clause]

    def first(self, key: str) -> Clause | None:
        for c in self.clauses:
            if c.key == key:
                return c
        return None

    def all(self, key: str) -> list[Clause]:
        return [c for c in self.clauses if c.key == key]

    def comments(self) -> list[str]:
        """Every top-level comment of the header, in order."""
        return [cm for c in self.clauses for cm in c.comments]

    def part_comments(self, *keys: str) -> list[str]:
        return [cm for c in self.clauses if c.key in keys for cm in c.comments]


def collapse(text: str) -> str:
    """Unfold and collapse every whitespace run (folding, tabs, double spaces) to one space."""
    return " ".join(text.split())  # str.split() uses the same whitespace as \s, faster


def _tokens(text: str) -> list[str]:
    """Top-level items: words, literals, quoted strings, ``;`` and whole (nested) comments."""
    items: list[str] = []
    depth = 0
    buf: list[str] = []
    for tok in _TOKEN.findall(text):
        if tok == "(":
            depth += 1
            buf.append(tok)
            continue
        if depth:
            buf.append(tok)
            if tok == ")":
                depth -= 1
                if depth == 0:
                    items.append("".join(buf))
                    buf = []
            continue
        if tok == ")" or tok.isspace():
            continue  # stray closer or spacing at top level
        items.append(tok)
    if buf:  # unclosed comment: keep it, closed
        items.append("".join(buf) + ")" * depth)
    return items


def split_clauses(value: str) -> Clauses:
    """Split a Received header value into clauses. Never raises."""
    text = collapse(value)
    items = _tokens(text)
    # The date follows the last top-level ";" (RFC 5321). Writers that put the date elsewhere
    # (IBM without ";", Courier with id after the date) are handled by the callers.
    last_semi = max((i for i, t in enumerate(items) if t == ";"), default=-1)
    clauses: list[Clause] = [Clause("")]
    for i, item in enumerate(items):
        if item == ";":
            if i == last_semi:
                clauses.append(Clause("date"))
            continue
        low = item.lower()
        current = clauses[-1]
        if (
            low in CLAUSE_WORDS
            and current.key != "date"
            and len(clauses) < MAX_CLAUSES
            and not _continues(current, low)
        ):
            clauses.append(Clause(low))
            continue
        if current.key == "date" and low == "id":  # Courier: "; date id X"
            clauses.append(Clause("id"))
            continue
        current.items.append(item)
    if not clauses[0].items:
        clauses.pop(0)
    for clause in clauses:
        clause.seal()
    return Clauses(text, clauses)


def _continues(current: Clause, word: str) -> bool:
    """True where a keyword-looking word is really part of the current clause's words.

    ``with`` directly after ``with`` (Mimecast ``with ESMTP with STARTTLS``) is a new clause;
    but ``for`` inside a free-text ``with`` product string (IBM ``... Gateway: ... for ...``)
    is not expected, so only ``tls`` needs care: it is a clause (RFC 8314) only when followed
    by a cipher, which the caller checks; here every keyword starts a clause.
    """
    return word == "tls" and current.key == "with" and all(i.startswith("(") for i in current.items)
