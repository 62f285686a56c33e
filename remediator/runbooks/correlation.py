"""Correlation rules: which alerts from *different* sources or groups join one open
incident. YAML beside the runbooks (``correlation.yaml``), validated like a runbook.

```yaml
rules:
  - name: checkout-by-service          # one incident per service …
    match: {service: "checkout*"}       # … for alerts whose labels fit (globs; optional)
    sources: [alertmanager, pagerduty]  # optional: only from these sources
    join_on: [service]                  # alerts with equal values of these labels join
    window_seconds: 600                 # an incident opened at most 10 min before
```
Without rules, an alert joins its own group's open incident (today's grouping).
"""

from __future__ import annotations

from fnmatch import fnmatchcase
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from remediator.runbooks.errors import InvalidRunbook, RunbookError, error_at, read_yaml

FILE_NAME = "correlation.yaml"


class CorrelationRule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
    match: dict[str, str] = Field(default_factory=dict)
    sources: list[str] = Field(default_factory=list)
    join_on: list[str] = Field(min_length=1, max_length=8)
    window_seconds: float = Field(gt=0, le=7 * 86_400)

    def key_for(self, source: str, labels: dict[str, str]) -> str | None:
        """The correlation key of an alert this rule takes, else None."""
        if self.sources and source not in self.sources:
            return None
        if not all(fnmatchcase(labels.get(k, ""), p) for k, p in self.match.items()):
            return None
        values = [labels.get(k, "") for k in self.join_on]
        if not all(values):
            return None
        return self.name + ":" + ",".join(f"{k}={v}" for k, v in zip(self.join_on, values,
                                                                       strict=True))


class CorrelationRules(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rules: list[CorrelationRule] = Field(default_factory=list)


def parse_rules(text: str, file: str = FILE_NAME) -> CorrelationRules:
    """Parse and validate; InvalidRunbook lists every error with its line."""
    node, data = read_yaml(text, file)
    try:
        rules = CorrelationRules.model_validate(data)
    except ValidationError as exc:
        raise InvalidRunbook([error_at(file, node, tuple(e["loc"]), e["msg"])
                              for e in exc.errors()]) from None
    names = [r.name for r in rules.rules]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise InvalidRunbook([RunbookError(file, None, "rules", f"duplicate rule name {n!r}")
                              for n in duplicated])
    return rules


def is_rules_file(path: Path) -> bool:
    return path.name == FILE_NAME


def load_rules(directory: Path) -> CorrelationRules:
    """The rules beside the runbooks; none when the file does not exist."""
    path = directory / FILE_NAME
    if not path.exists():
        return CorrelationRules()
    return parse_rules(path.read_text(encoding="utf-8"), str(path))
