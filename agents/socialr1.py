"""The SocialR1 agent: every turn is SIP-structured reasoning followed by an ``<Answer>``.

The model writes ``<think>`` with the four SIP stages (Cue Encoding, Cue Interpretation, Goal
Clarification, Response Generation) and then ``<Answer>`` holding its act: plain speech, or a
JSON action for another action type. Only the act reaches the environment; the full text stays
on the turn record (``raw_text``, with the ``<think>`` content as ``reasoning``) for training
and reports, together with the result of :meth:`agents.sip.SIPFormat.check` (``sip_ok``,
``sip_problems``).

The reply is free text (no JSON constraint), so the reasoning can be written. When there is no
``<Answer>``, text after ``</think>`` is used as the act (a parse fallback); a reply with
reasoning but no act is unusable and retried like a failed call, so the partner never sees
reasoning.
"""

from __future__ import annotations

from agents import prompts
from agents.client import Endpoint
from agents.llm import EmptyOutputError, Interpretation, LLMAgent, UnusableOutputError, parse_action
from agents.sip import SIP
from envs.types import AgentAction, Observation
from scenarios.schema import EpisodeSetup


def new_acts_text(observation: Observation, seen: int) -> str:
    """The public acts of the others after the first ``seen`` acts, one per line, as a user turn."""
    lines = [a.text for a in observation.public_acts[seen:] if a.agent != observation.agent]
    return "\n".join(lines) or "(no reply)"


class SIPDialogue:
    """The SIP policy's side of one episode as one chat that only grows by appending.

    Turn 1: ``[system: character + SIP instructions, user: the first observation + action
    types]``; after each of the policy's turns, its whole reply (reasoning included, think
    prefill included) as an assistant message and the others' new acts as the next user
    message. Training (``training.rollout``) and evaluation (:class:`SocialR1Agent`) both build
    the policy's context with this class, so a checkpoint is evaluated on the format it was
    trained on; and since each context extends the previous one, servers can reuse the prefix.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self.messages: list[dict[str, str]] = []
        self._seen = 0

    @property
    def started(self) -> bool:
        """True once the first observation is in."""
        return bool(self.messages)

    def start(self, observation: Observation) -> list[dict[str, str]]:
        """Open the conversation with the first observation; return the messages."""
        system = f"{prompts.system_prompt(self.name or observation.agent)}\n\n{SIP.instructions('social')}"
        user = (
            f"{prompts.observation_prompt(observation)}\n\n"
            f"Action types:\n{prompts.action_options(observation.available_actions)}"
        )
        self.messages = [{"role": "system", "content": system}, {"role": "user", "content": user}]
        self._seen = len(observation.public_acts)
        return self.messages

    def add_reply(self, text: str) -> None:
        """Record the policy's whole reply (what it generated, prefill included)."""
        if not self.started or self.messages[-1]["role"] != "user":
            raise RuntimeError("a reply must follow the first observation or an update")
        self.messages.append({"role": "assistant", "content": text})

    def add_update(self, observation: Observation) -> str:
        """Append the others' acts since the policy's last turn as a user message; return its text."""
        if not self.started or self.messages[-1]["role"] != "assistant":
            raise RuntimeError("an update must follow one of the policy's replies")
        text = new_acts_text(observation, self._seen)
        self._seen = len(observation.public_acts)
        self.messages.append({"role": "user", "content": text})
        return text


class SocialR1Agent(LLMAgent):
    """An :class:`~agents.llm.LLMAgent` whose every turn follows the SIP format (:mod:`agents.sip`).

    Its context is a :class:`SIPDialogue`. Where the backend can continue a reply that is
    already begun (a transformers checkpoint served in-process), each turn starts with
    ``think_prefill`` written into the prompt, exactly as in training.
    """

    structured = False
    default_max_tokens = 512
    think_prefill: str = SIP.prefill

    @property
    def label(self) -> str:
        """The spec as a user writes it (``sip:MODEL``), for episode records and reports."""
        return f"sip:{self.spec}"

    @property
    def dialogue(self) -> SIPDialogue:
        """This episode's conversation."""
        if getattr(self, "_dialogue", None) is None:
            self._dialogue = SIPDialogue(self.name)
        return self._dialogue

    def reset(self, setup: EpisodeSetup, name: str) -> None:
        """Start a new episode as ``name`` with an empty conversation."""
        super().reset(setup, name)
        self._dialogue = SIPDialogue(name)

    def messages(self, observation: Observation) -> list[dict[str, str]]:
        """The conversation for this turn: opened by the first observation, then extended by updates."""
        dialogue = self.dialogue
        if not dialogue.started:
            return list(dialogue.start(observation))
        if dialogue.messages[-1]["role"] == "assistant":
            dialogue.add_update(observation)
        return list(dialogue.messages)

    def prefill_for(self, endpoint: Endpoint) -> str:
        """The think prefill where this endpoint can continue a begun reply, else ''."""
        return self.think_prefill if endpoint.backend == "transformers" else ""

    async def act(self, observation: Observation) -> AgentAction:
        """One SIP turn; the whole reply joins the conversation."""
        action = await super().act(observation)
        record = self.last_turn_record()
        self.dialogue.add_reply(record.raw_text if record and record.raw_text is not None else "")
        return action

    def interpret(self, text: str, observation: Observation) -> Interpretation:
        """The act from ``<Answer>`` (or, failing that, from text after ``</think>``), plus the SIP check."""
        check = SIP.check(text)
        parsed = check.parse
        if parsed.reasoning_without_answer:
            raise UnusableOutputError("reasoning without an <Answer>")
        try:
            action, parse_fallback = parse_action(
                parsed.final_answer,
                observation.available_actions,
                name=self.name or observation.agent,
                speech_ok=True,
            )
        except EmptyOutputError as exc:
            raise UnusableOutputError("empty <Answer>" if parsed.answer is not None else str(exc)) from exc
        return Interpretation(
            action=action,
            fallback=parsed.answer_source != "answer" or parse_fallback,
            reasoning=parsed.think,
            sip_ok=check.ok,
            sip_problems=tuple(check.problems),
        )
