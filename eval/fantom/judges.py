"""Who decides whether a free-response belief answer states the correct belief or the wrong one.

- :class:`EmbeddingJudge`: FanToM's metric. The reply is right when its sentence embedding is
  closer (cosine) to the correct belief than to the wrong one. With FanToM's model
  (:data:`PUBLISHED_EMBEDDER`) the numbers are comparable to the paper; any other embedding model
  is labelled as such. Embeddings come from a pluggable :class:`Embedder`; the default loads a
  sentence-transformers model **from the local cache only** (nothing is downloaded).
- :class:`LLMJudge`: an LLM through litellm reads the reply and the two beliefs and says which
  one it states (not the paper's metric; labelled so).
- :class:`Unavailable`: no judge could be had (sentence-transformers missing, model not cached):
  free-response scores are reported as unavailable, never guessed.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence
from typing import Any, Protocol

from pydantic import BaseModel

from agents.client import LLMCallError, RetryPolicy, chat, resolve_endpoint
from eval.answers import parse_letter

PUBLISHED_EMBEDDER = "sentence-transformers/all-roberta-large-v1"
"""The embedding model FanToM's evaluation uses."""


class BeliefCase(BaseModel):
    """One free-response belief answer to judge."""

    id: str
    question: str
    reply: str
    correct: str
    wrong: str


class Verdict(BaseModel):
    """Right (states the correct belief), wrong, or None with the reason."""

    right: bool | None = None
    error: str | None = None
    detail: dict[str, Any] = {}


class BeliefJudge(Protocol):
    """Anything that judges belief answers and names its protocol."""

    protocol: str
    comparable: bool
    available: bool

    async def judge(self, cases: Sequence[BeliefCase]) -> list[Verdict]:
        """One verdict per case, in order."""
        ...


class JudgeUnavailable(RuntimeError):
    """The requested judge cannot run here; the message says why and what would fix it."""


class Embedder(Protocol):
    """Turns texts into vectors (one row per text)."""

    def encode(self, texts: list[str]) -> Any:
        """A 2-D array-like of embeddings."""
        ...


def local_sentence_transformer(name: str) -> Embedder:
    """The sentence-transformers model ``name`` (hub id or folder) from local files only."""
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError:
        raise JudgeUnavailable(
            "sentence-transformers is not installed (pip install sentence-transformers; the model "
            f"{name} must then be in the local Hugging Face cache)"
        ) from None
    try:
        return SentenceTransformer(name, device="cpu", local_files_only=True)
    except Exception as exc:  # missing files surface as several error types across versions
        raise JudgeUnavailable(f"cannot load {name} from local files: {type(exc).__name__}: {exc}") from None


class EmbeddingJudge:
    """FanToM's rule: right when cos(reply, correct) > cos(reply, wrong) (ties count as wrong)."""

    available = True

    def __init__(self, embedder: Embedder, name: str) -> None:
        self.embedder = embedder
        self.name = name
        self.comparable = name == PUBLISHED_EMBEDDER
        self.protocol = (
            f"fantom (embedding {name})" if self.comparable else f"embedding {name} (not the paper's model)"
        )

    def _judge(self, cases: Sequence[BeliefCase]) -> list[Verdict]:
        import numpy as np

        if not cases:
            return []
        texts = [text for c in cases for text in (c.reply, c.correct, c.wrong)]
        vectors = np.asarray(self.embedder.encode(texts), dtype=float).reshape(len(texts), -1)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        unit = np.divide(vectors, norms, out=np.zeros_like(vectors), where=norms > 0)
        verdicts = []
        for i in range(len(cases)):
            reply, correct, wrong = unit[3 * i], unit[3 * i + 1], unit[3 * i + 2]
            to_correct, to_wrong = float(reply @ correct), float(reply @ wrong)
            verdicts.append(
                Verdict(
                    right=to_correct > to_wrong, detail={"cos_correct": to_correct, "cos_wrong": to_wrong}
                )
            )
        return verdicts

    async def judge(self, cases: Sequence[BeliefCase]) -> list[Verdict]:
        """Embed every reply and both beliefs (in a worker thread) and compare."""
        return await asyncio.to_thread(self._judge, cases)


JUDGE_SYSTEM = "You check which of two statements about a person's belief an answer agrees with."


def judge_messages(case: BeliefCase, correct_first: bool) -> list[dict[str, str]]:
    """The LLM judge's prompt, with the correct belief as statement A when ``correct_first``."""
    first, second = (case.correct, case.wrong) if correct_first else (case.wrong, case.correct)
    return [
        {"role": "system", "content": JUDGE_SYSTEM},
        {
            "role": "user",
            "content": (
                f"Question: {case.question}\n\nAnswer to check: {case.reply}\n\n"
                f"Statement A: {first}\nStatement B: {second}\n\n"
                "Which statement does the answer agree with about what the person believes? Reply with A or B only."
            ),
        },
    ]


class LLMJudge:
    """An LLM says which belief the reply states (statement order drawn per case from ``seed``)."""

    available = True
    comparable = False

    def __init__(
        self,
        spec: str,
        *,
        api_base: str | None = None,
        attempts: int = 2,
        concurrency: int = 4,
        seed: int = 0,
    ) -> None:
        self.spec = spec
        self.endpoint = resolve_endpoint(spec, api_base)
        self.attempts = attempts
        self.concurrency = concurrency
        self.seed = seed
        self.protocol = f"llm-judge {spec} (not the paper's metric)"

    async def _one(self, case: BeliefCase, gate: asyncio.Semaphore) -> Verdict:
        correct_first = random.Random(f"{self.seed}\x1f{case.id}").random() < 0.5
        last = ""
        for _ in range(self.attempts):
            async with gate:
                try:
                    result = await chat(
                        self.endpoint, judge_messages(case, correct_first), temperature=0.0, max_tokens=8,
                        retry=RetryPolicy(),
                    )  # fmt: skip
                except LLMCallError as exc:
                    return Verdict(error=f"judge call failed: {exc}")
            choice = parse_letter(result.text, 2)
            if choice is not None:
                return Verdict(right=(choice == 0) == correct_first, detail={"judge_reply": result.text})
            last = result.text
        return Verdict(error=f"unreadable judge reply after {self.attempts} tries: {last[:80]!r}")

    async def judge(self, cases: Sequence[BeliefCase]) -> list[Verdict]:
        """Ask the judge about every case, ``concurrency`` at a time."""
        gate = asyncio.Semaphore(self.concurrency)
        return list(await asyncio.gather(*(self._one(c, gate) for c in cases)))


class Unavailable:
    """No judge: every verdict is None, with the reason."""

    available = False
    comparable = False

    def __init__(self, reason: str) -> None:
        self.reason = reason
        self.protocol = f"unavailable ({reason})"

    async def judge(self, cases: Sequence[BeliefCase]) -> list[Verdict]:
        """No verdicts."""
        return [Verdict(error=self.protocol) for _ in cases]


def build_judge(
    embedder: str | None = PUBLISHED_EMBEDDER,
    llm_judge: str | None = None,
    *,
    api_base: str | None = None,
    seed: int = 0,
) -> BeliefJudge:
    """The LLM judge when ``llm_judge`` is given; else the embedding judge for ``embedder`` if it loads
    locally; else :class:`Unavailable` saying why (``embedder`` None or ``"none"``: not asked for)."""  # fmt: skip
    if llm_judge:
        return LLMJudge(llm_judge, api_base=api_base, seed=seed)
    if not embedder or embedder == "none":
        return Unavailable("no free-response judge chosen")
    try:
        return EmbeddingJudge(local_sentence_transformer(embedder), embedder)
    except JudgeUnavailable as exc:
        return Unavailable(str(exc))
