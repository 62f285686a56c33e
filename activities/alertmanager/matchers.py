"""Label matchers as Alertmanager writes them (``k=v``, ``k!=v``, ``k=~re``, ``k!~re``),
turned into the matchers of its silences API and the ``filter`` of its alerts API."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass

from pydantic_core import PydanticCustomError

LABEL_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# The operator is the first of =~ != !~ = after the name (longest first).
MATCHER = re.compile(r"^\s*([^=!~\s]+)\s*(=~|!=|!~|=)\s*(.*?)\s*$")


@dataclass(frozen=True)
class Matcher:
    name: str
    op: str
    value: str

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
        return f"{self.name}{self.op}{json.dumps(self.value, ensure_ascii=False)}"


def parse_matcher(text: str) -> Matcher:
    """One matcher, or a pydantic validation error saying what is wrong with it."""
    found = MATCHER.match(text)
    if found is None:
        raise PydanticCustomError("matcher", "unknown matcher {text!r}: use k=v, k!=v, "
                                  "k=~regex or k!~regex", {"text": text})
    name, op, value = found.groups()
    if not LABEL_NAME.match(name):
        raise PydanticCustomError("matcher", "bad label name {name!r} in matcher {text!r}",
                                  {"name": name, "text": text})
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1]
    if op in ("=~", "!~"):
        try:
            re.compile(value)
        except re.error as exc:
            raise PydanticCustomError("matcher", "bad regex in matcher {text!r}: {error}",
                                      {"text": text, "error": str(exc)}) from None
    return Matcher(name, op, value)


def equal_to(labels: dict[str, str]) -> list[Matcher]:
    """Matchers that match exactly these label values."""
    return [Matcher(name, "=", value) for name, value in sorted(labels.items())]


def alertname_of(matchers: list[Matcher]) -> str | None:
    """The alertname the matchers name with ``=``, if any (what the allow-list judges)."""
    return next((m.value for m in matchers if m.name == "alertname" and m.op == "="), None)


def describe(matchers: list[Matcher]) -> str:
    """``{alertname="X", service="checkout"}``, in a stable order."""
    return "{" + ", ".join(sorted(str(m) for m in matchers)) + "}"


def digest(matchers: list[Matcher]) -> str:
    return hashlib.sha256(describe(matchers).encode()).hexdigest()[:16]
