"""The one shape every multiple-choice (or free-text) question takes, whatever its benchmark."""

from __future__ import annotations

import string

from pydantic import BaseModel, ConfigDict, Field, model_validator

LETTERS = string.ascii_uppercase


class MCQItem(BaseModel):
    """A question about a story, with options and a gold answer.

    ``answer`` indexes ``options``. Free-text items (ToM-RL) have no options and a gold
    ``answer_text``. Items that share a ``group`` are scored together: the group counts as
    correct only when every item in it is (EmoBench EU: emotion and cause).
    """

    model_config = ConfigDict(extra="forbid")

    id: str
    benchmark: str
    context: str = Field("", description="The story or scenario.")
    question: str
    options: list[str] = Field(default_factory=list)
    answer: int | None = Field(None, description="Index of the gold option.")
    answer_text: str = Field("", description="Gold answer as text (filled from options when empty).")
    tags: dict[str, str] = Field(default_factory=dict, description="Grouping fields: ability, order, ...")
    group: str | None = None

    @model_validator(mode="after")
    def _gold(self) -> MCQItem:
        if self.options:
            if self.answer is None or not 0 <= self.answer < len(self.options):
                raise ValueError(
                    f"item {self.id!r}: answer must index one of its {len(self.options)} options, got {self.answer!r}"
                )
            if len(self.options) > len(LETTERS):
                raise ValueError(f"item {self.id!r}: at most {len(LETTERS)} options are supported")
            if not self.answer_text:
                self.answer_text = self.options[self.answer]
        elif not self.answer_text:
            raise ValueError(f"item {self.id!r}: a free-text item needs answer_text")
        return self

    @property
    def letters(self) -> list[str]:
        """Option letters in order (A, B, ...)."""
        return list(LETTERS[: len(self.options)])

    @property
    def answer_letter(self) -> str | None:
        """Gold letter, or None for free-text items."""
        return LETTERS[self.answer] if self.options and self.answer is not None else None

    def render(self) -> str:
        """Story, question and lettered options as one block of text."""
        parts = []
        if self.context:
            parts.append(f"Story:\n{self.context}")
        parts.append(f"Question: {self.question}")
        if self.options:
            parts.append("Options:\n" + "\n".join(f"{L}. {o}" for L, o in zip(self.letters, self.options, strict=False)))
        return "\n\n".join(parts)
