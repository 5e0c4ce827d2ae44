"""The data that flows between environments, agents, the evaluator and the store.

These types are imported by ``agents`` and ``eval``; they depend only on ``scenarios``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from enum import Enum, StrEnum
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ModelWrapValidatorHandler,
    SerializerFunctionWrapHandler,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_serializer,
    model_validator,
)

from scenarios.checks import CheckResult, rules_score
from scenarios.schema import EpisodeSetup

RULES_DIMENSION = "rules"
"""The score dimension of rule checks: the share of a role's checks passed (0..1; none if any is undecidable)."""


class TurnMode(StrEnum):
    """Who acts in a step."""

    round_robin = "round-robin"
    simultaneous = "simultaneous"
    random = "random"
    """One speaker per step, drawn from the agents still in the episode, never the last speaker twice
    in a row while another can speak (a group chat's order); seeded by the setup's seed."""


class EnvConfig(BaseModel):
    """How an env runs its episodes (recorded on each episode as :attr:`EpisodeMetadata.env`, for replay)."""

    model_config = ConfigDict(extra="forbid")

    turn_mode: TurnMode = TurnMode.round_robin
    max_turns: int | None = Field(
        None, ge=1, description="Steps before truncation; None: the scenario's max_turns."
    )
    max_stale_turns: int | None = Field(
        4, ge=1, description="Steps in a row with only 'none' acts that end the episode; None: never."
    )
    show_hints: bool = Field(True, description="Show goals' strategy hints to the agents.")
    reward_dimension: str = Field(
        "goal",
        description="Evaluator dimension used as the final reward ('rules': the share of rule checks passed).",
    )
    max_observation_chars: int = Field(200_000, ge=1)
    max_argument_chars: int = Field(20_000, ge=1)


class ActionType(str, Enum):
    """What an agent can do on its turn (index order is the ``Discrete(5)`` encoding)."""

    none = "none"
    speak = "speak"
    non_verbal = "non-verbal communication"
    action = "action"
    leave = "leave"

    @property
    def index(self) -> int:
        """Position in the ``Discrete`` action space."""
        return list(ActionType).index(self)

    @classmethod
    def from_index(cls, index: int) -> ActionType:
        """Inverse of :attr:`index`."""
        return list(ActionType)[int(index)]


class AgentAction(BaseModel):
    """One act of one agent: the only thing the environment (and the partner) ever sees."""

    model_config = ConfigDict(extra="forbid")

    action_type: ActionType
    argument: str = ""

    def to_space(self) -> dict[str, Any]:
        """The action in the env's gymnasium ``Dict`` space form."""
        return {"action_type": self.action_type.index, "argument": self.argument}

    @classmethod
    def from_space(cls, value: Any) -> AgentAction:
        """Accept an ``AgentAction``, a space dict (int or str action type) or a model dict."""
        if isinstance(value, AgentAction):
            return value
        if isinstance(value, dict):
            kind = value.get("action_type", "none")
            if isinstance(kind, int) or (hasattr(kind, "__int__") and not isinstance(kind, str)):
                kind = ActionType.from_index(int(kind))
            return cls(action_type=ActionType(kind), argument=str(value.get("argument", "") or ""))
        raise TypeError(f"cannot interpret {value!r} as an action")

    def render(self, name: str) -> str:
        """How the act reads in a transcript."""
        kind = self.action_type
        if kind is ActionType.speak:
            return f'{name} said: "{self.argument}"'
        if kind is ActionType.non_verbal:
            return f"{name} [non-verbal communication] {self.argument}"
        if kind is ActionType.action:
            return f"{name} [action] {self.argument}"
        if kind is ActionType.leave:
            return f"{name} left the conversation"
        return f"{name} did nothing"


class PublicAct(BaseModel):
    """One act of the public transcript as every participant sees it (never any private reasoning)."""

    index: int
    agent: str
    text: str = Field(description="The act as the transcript renders it (AgentAction.render).")


class Observation(BaseModel):
    """What one agent is given when it must act (the text is also the env observation)."""

    agent: str = Field(description="The acting agent's name in the env.")
    text: str = Field(description="Everything this agent may see, rendered as text.")
    turn: int = Field(description="0-based index of the current turn.")
    available_actions: list[ActionType]
    is_my_turn: bool = True
    public_acts: list[PublicAct] = Field(
        default_factory=list,
        description="The public transcript so far, act by act (agents that keep a conversation read new acts here).",
    )


class Turn(BaseModel):
    """One act in the transcript, with what produced it."""

    index: int
    agent: str
    action: AgentAction
    raw_text: str | None = Field(None, description="The model's full output (incl. SIP reasoning).")
    reasoning: str | None = Field(None, description="Reasoning kept out of the env (SIP <think>).")
    latency_s: float | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    parse_fallback: bool = Field(
        False, description="Output was not valid structured action; text used as speech."
    )
    error: str | None = None


class EpisodeStatus(str, Enum):
    """Lifecycle of an episode."""

    running = "running"
    finished = "finished"
    failed = "failed"


class DimensionScore(BaseModel):
    """One judged dimension for one agent."""

    score: float
    reasoning: str = ""


class Judgement(BaseModel):
    """One judge's one verdict on an episode (one repeat, one agent order), kept beside the aggregate."""

    judge: str = Field(description="The judge's label (e.g. sotopia-eval:openai/gpt-4o).")
    repeat: int = Field(0, ge=0)
    order: Literal["given", "swapped"] = Field("given", description="Agent order in the judge's prompt.")
    ok: bool
    scores: dict[str, dict[str, DimensionScore]] = Field(default_factory=dict)
    error: str | None = None
    raw_text: str | None = None
    attempts: int = 1
    latency_s: float | None = None
    cached: bool = Field(False, description="Answered from the judge cache (no model call).")


class EpisodeEvaluation(BaseModel):
    """The evaluator's verdict on a finished episode.

    ``ok`` is False when no valid judgement could be obtained: then ``error`` says why and
    ``scores`` is empty — a failed judgement is never reported as zeros.
    """

    ok: bool
    scores: dict[str, dict[str, DimensionScore]] = Field(
        default_factory=dict, description="Agent name -> dimension -> score."
    )
    error: str | None = None
    evaluator: str = ""
    raw_text: str | None = None
    attempts: int = 1
    latency_s: float | None = None
    checks: dict[str, list[CheckResult]] = Field(
        default_factory=dict,
        description="Agent name -> rule-check results (scenarios.checks); kept whether or not the judge's ``ok``.",
    )
    judgements: list[Judgement] = Field(
        default_factory=list,
        description="Each judgement (judge x repeat x order) of a jury or repeated judging; ``scores`` is their "
        "aggregate. Empty for a single judgement, which is this evaluation itself.",
    )

    def rule_score(self, agent: str) -> float | None:
        """Share of ``agent``'s rule checks passed; None without checks or when one is undecidable."""
        return rules_score(self.checks.get(agent, []))

    def score(self, agent: str, dimension: str = "goal") -> float | None:
        """One agent's score on one dimension, or None if absent (``rules`` is read off the checks)."""
        entry = self.scores.get(agent, {}).get(dimension)
        if entry is None and dimension == RULES_DIMENSION:
            return self.rule_score(agent)
        return entry.score if entry is not None else None

    def flat_scores(self) -> dict[str, dict[str, float]]:
        """Agent -> dimension -> number (what :attr:`Episode.scores` stores); rule scores even when not ``ok``."""
        flat = {agent: {dim: s.score for dim, s in dims.items()} for agent, dims in self.scores.items()}
        for agent in self.checks:
            score = self.rule_score(agent)
            if score is not None:
                flat.setdefault(agent, {}).setdefault(RULES_DIMENSION, score)
        return flat


class InteractivePlay(BaseModel):
    """Which entry of an interactive evaluation's plan an episode plays (``python -m eval.interactive``)."""

    model: str
    partner: str
    side: Literal["first", "second"]
    test_agent: str = Field(description="The name of the role the evaluated model played.")
    replica: int = Field(ge=0)
    max_turns: int | None = None


class EpisodeMetadata(BaseModel):
    """Where an episode came from and how it ran: what the env, the runner, training and eval record.

    Every key is optional and an unset one is left out of the stored JSON, so a record keeps the
    shape it always had (``eval.store`` reads ``$.metadata.training_step``). A stored key this
    version does not declare, or whose value does not fit its declared type (an older or foreign
    writer), is kept verbatim in :attr:`other` and written back under its own name: loading and
    saving a record never loses or rewrites what it held.
    """

    model_config = ConfigDict(validate_assignment=True)

    env: EnvConfig | None = Field(None, description="The env's settings (what a replay runs with).")
    seed: int | None = Field(None, description="The seed the env was reset with.")
    max_turns: int | None = Field(None, description="The episode's turn limit (the env's or the scenario's).")
    batch_index: int | None = Field(
        None, description="Position among the setups of one ``run_episodes`` call."
    )
    failed_agent: str | None = Field(None, description="The agent whose failure ended the episode.")
    failed_turn: int | None = Field(None, description="The turn on which it failed.")
    failed_turn_record: Turn | None = Field(None, description="What the failing agent produced on that turn.")
    training_step: int | None = Field(None, description="The GRPO step whose rollout played it.")
    task: str | None = Field(None, description="The training task key (``training.tasks``).")
    policy: str | None = Field(None, description="The name of the role the trained policy played.")
    interactive: InteractivePlay | None = None
    played_in: str | None = Field(None, description="The tool a human played it in (``eval.serve``).")
    human: str | None = Field(None, description="The name of the role a human played.")
    play_session: str | None = Field(None, description="The web app's play session.")
    other: dict[str, Any] = Field(
        default_factory=dict,
        description="Stored keys that are not declared here or whose values do not fit, kept as they were.",
    )

    @model_validator(mode="wrap")
    @classmethod
    def _keep_what_does_not_fit(cls, value: Any, handler: ModelWrapValidatorHandler[EpisodeMetadata]) -> Any:
        if not isinstance(value, Mapping):
            return handler(value)
        declared = set(cls.model_fields) - {"other"}
        known = {k: v for k, v in value.items() if k in declared}
        other = {k: v for k, v in value.items() if k not in declared}
        while True:
            try:
                return handler({**known, "other": other})
            except ValidationError as exc:
                misfits = {e["loc"][0] for e in exc.errors() if e["loc"] and e["loc"][0] in known}
                if not misfits:
                    raise
                for key in misfits:
                    other[str(key)] = known.pop(str(key))

    def merge(self, other: EpisodeMetadata) -> None:
        """Set every key that ``other`` sets (its kept unknown keys too)."""
        for name in other.model_fields_set - {"other"}:
            setattr(self, name, getattr(other, name))
        if other.other:
            self.other = {**self.other, **other.other}

    @model_serializer(mode="wrap")
    def _flat(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data = handler(self)
        other = data.pop("other", {})
        flat = {k: v for k, v in data.items() if v is not None}
        for key, kept in other.items():
            flat.setdefault(key, kept)
        return flat


class Episode(BaseModel):
    """A played episode: setup, transcript, outcome. The unit the store and the judge work on.

    Assignments are validated, so ``episode.evaluation = {...}`` (a stored dump) becomes an
    :class:`EpisodeEvaluation` too.
    """

    model_config = ConfigDict(validate_assignment=True)

    id: str
    setup: EpisodeSetup
    agent_models: dict[str, str] = Field(default_factory=dict, description="Agent name -> model/agent spec.")
    turns: list[Turn] = Field(default_factory=list)
    status: EpisodeStatus = EpisodeStatus.running
    error: str | None = None
    termination_reason: str | None = None
    rewards: dict[str, float] = Field(default_factory=dict)
    scores: dict[str, dict[str, float]] = Field(
        default_factory=dict, description="Agent -> dimension -> score."
    )
    evaluation: EpisodeEvaluation | None = Field(None, description="The evaluator's full output.")
    started_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    finished_at: datetime | None = None
    metadata: EpisodeMetadata = Field(default_factory=EpisodeMetadata)

    @field_validator("evaluation", mode="before")
    @classmethod
    def _stored_evaluation(cls, value: Any, info: ValidationInfo) -> Any:
        """An evaluation stored in another shape (older runs, other tools) keeps its ok/error/evaluator;
        ``ok`` defaults to whether the episode has scores."""
        if not isinstance(value, Mapping):
            return value
        try:
            return EpisodeEvaluation.model_validate(value)
        except ValidationError:
            error = value.get("error")
            return EpisodeEvaluation(
                ok=bool(value.get("ok", bool(info.data.get("scores")))),
                error=str(error) if error is not None else None,
                evaluator=str(value.get("evaluator", "")),
            )

    @property
    def reward_dimension(self) -> str:
        """The score dimension the episode's env rewards on (recorded with its settings); ``goal`` if unrecorded."""
        if self.metadata.env is not None:
            return self.metadata.env.reward_dimension
        stored = self.metadata.other.get("env")  # a stored env config that no longer validates
        return str((stored if isinstance(stored, Mapping) else {}).get("reward_dimension") or "goal")

    def transcript(self) -> str:
        """The public transcript, one act per line (no private reasoning)."""
        return "\n".join(f"Turn #{t.index}: {t.action.render(t.agent)}" for t in self.turns)
