"""The base of the app's form and query models: what a browser sends, read with pydantic."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, ValidationInfo, field_validator


class FormModel(BaseModel):
    """A form or query string: unknown fields are ignored and a blank field takes its default (a
    required field keeps its blank, for its own check to name)."""

    model_config = ConfigDict(extra="ignore")

    @field_validator("*", mode="before")
    @classmethod
    def _blank_is_default(cls, value: object, info: ValidationInfo) -> object:
        field = cls.model_fields[info.field_name or ""]
        if isinstance(value, str) and not value.strip() and not field.is_required():
            return field.default
        return value
