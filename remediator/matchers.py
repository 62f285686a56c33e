"""Label matchers as Alertmanager writes them: ``k=v``, ``k!=v``, ``k=~re``, ``k!~re`` —
one parser for the guard's maintenance windows and for the silences and alert filters
remediator sends Alertmanager.

Regexes are anchored (the whole value must match), a missing label has the value ``""``
(so ``team!=db`` matches an alert with no ``team``), and a value may be double-quoted.
"""

from __future__ import annotations

import hashlib
import json
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

    @property
    def is_regex(self) -> bool:
        return self.op in ("=~", "!~")

    @property
    def is_equal(self) -> bool:
        return self.op in ("=", "=~")

    def api(self) -> dict[str, object]:
        """As ``POST /api/v2/silences`` takes it."""
        return {"name": self.name, "value": self.value, "isRegex": self.is_regex,
                "isEqual": self.is_equal}

    def filter(self) -> str:
        """As ``GET /api/v2/alerts?filter=`` takes it (the value quoted and escaped)."""
        return f"{self.name}{self.op}{json.dumps(self.value, ensure_ascii=False)}"

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


def equal_to(labels: dict[str, str]) -> list[Matcher]:
    """Matchers that match exactly these label values."""
    return [Matcher(name, "=", value) for name, value in sorted(labels.items())]


def alertname_of(matchers: list[Matcher]) -> str | None:
    """The alertname the matchers name with ``=``, if any (what the allow-list judges)."""
    return next((m.value for m in matchers if m.name == "alertname" and m.op == "="), None)


def describe(matchers: list[Matcher]) -> str:
    """``{alertname="X", service="checkout"}``, in a stable order."""
    return "{" + ", ".join(sorted(m.filter() for m in matchers)) + "}"


def digest(matchers: list[Matcher]) -> str:
    return hashlib.sha256(describe(matchers).encode()).hexdigest()[:16]
