"""The base of every boundary model, and the identifier shape runbooks use."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

Identifier = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$")


class Contract(BaseModel):
    """Base for boundary models: unknown fields are an error, not silently dropped."""

    model_config = ConfigDict(extra="forbid")
