"""Label matchers as Alertmanager writes them: ``k=v``, ``k!=v``, ``k=~re``, ``k!~re``.

Regexes are anchored (the whole value must match), a missing label has the value ``""``
(so ``team!=db`` matches an alert with no ``team``), and a value may be double-quoted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

LABEL_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# The operator is the first of =~ != !~ = after the name (longest first).
MATCHER = re.compile(r"^\s*([^=!~\s]+)\s*(=~|!=|!~|=)\s*(.*?)\s*$")
OPERATORS = ("=", "!=", "=~", "!~")


class BadMatcher(ValueError):
    """A matcher that is not ``name OP value`` with a known operator and a valid regex."""


@dataclass(frozen=True)
class Matcher:
    name: str
    op: str
    value: str

    def matches(self, labels: dict[str, str]) -> bool:
        actual = labels.get(self.name, "")
        if self.op == "=":
            return actual == self.value
        if self.op == "!=":
            return actual != self.value
        found = re.fullmatch(self.value, actual) is not None
        return found if self.op == "=~" else not found

    def __str__(self) -> str:
        return f"{self.name}{self.op}{self.value}"


def parse_matcher(text: str) -> Matcher:
    """One matcher; ``BadMatcher`` says what is wrong with it."""
    found = MATCHER.match(text)
    if found is None:
        raise BadMatcher(f"unknown matcher {text!r}: use k=v, k!=v, k=~regex or k!~regex")
    name, op, value = found.groups()
    if not LABEL_NAME.match(name):
        raise BadMatcher(f"bad label name {name!r} in matcher {text!r}")
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1]
    if op in ("=~", "!~"):
        try:
            re.compile(value)
        except re.error as exc:
            raise BadMatcher(f"bad regex in matcher {text!r}: {exc}") from None
    return Matcher(name, op, value)


def parse_matchers(texts: list[str]) -> list[Matcher]:
    """Every matcher, or ``BadMatcher`` naming each one that is wrong."""
    matchers, errors = [], []
    for text in texts:
        try:
            matchers.append(parse_matcher(text))
        except BadMatcher as exc:
            errors.append(str(exc))
    if errors:
        raise BadMatcher("; ".join(errors))
    if not matchers:
        raise BadMatcher("at least one matcher is needed (pause automation to stop everything)")
    return matchers


def canonical(matchers: list[Matcher]) -> tuple[str, ...]:
    """The matcher set in one spelling, to tell windows with identical matchers apart."""
    return tuple(sorted({str(m) for m in matchers}))


def all_match(matchers: list[Matcher], labels: dict[str, str]) -> bool:
    return all(m.matches(labels) for m in matchers)
