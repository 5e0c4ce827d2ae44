"""The SocialR1 agent: every turn is SIP-structured reasoning followed by an ``<Answer>``.

The model writes ``<think>`` with the four SIP stages (Cue Encoding, Cue Interpretation, Goal
Clarification, Response Generation) and then ``<Answer>`` holding its act: plain speech, or a
JSON action for another action type. Only the act reaches the environment; the full text stays
on the turn record (``raw_text``, with the ``<think>`` content as ``reasoning``) for training
and reports, together with the result of :func:`agents.sip.check_sip` (``sip_ok``,
``sip_problems``).

The reply is free text (no JSON constraint), so the reasoning can be written. When there is no
``<Answer>``, text after ``</think>`` is used as the act (a parse fallback); a reply with
reasoning but no act is unusable and retried like a failed call, so the partner never sees
reasoning.
"""

from __future__ import annotations

from agents import prompts, sip
from agents.llm import EmptyOutputError, Interpretation, LLMAgent, UnusableOutputError, parse_action
from envs.types import Observation


def answer_spec() -> str:
    """What the SIP instructions say goes inside ``<Answer>`` for a social turn."""
    return (
        "Inside <Answer> and </Answer> write only your next act, which is all the other person sees: "
        'the words you say, or a JSON object {"action_type": "<type>", "argument": "..."} for another action type.'
    )


class SocialR1Agent(LLMAgent):
    """An :class:`~agents.llm.LLMAgent` whose every turn follows the SIP format (:mod:`agents.sip`)."""

    structured = False
    default_max_tokens = 512

    @property
    def label(self) -> str:
        """The spec as a user writes it (``sip:MODEL``), for episode records and reports."""
        return f"sip:{self.spec}"

    def messages(self, observation: Observation) -> list[dict[str, str]]:
        """System: the character and the SIP instructions; user: the observation and the action types."""
        system = f"{prompts.system_prompt(self.name or observation.agent)}\n\n" + sip.build_instructions(
            "social", answer_spec=answer_spec()
        )
        user = (
            f"{prompts.observation_prompt(observation)}\n\n"
            f"Action types:\n{prompts.action_options(observation.available_actions)}"
        )
        return [{"role": "system", "content": system}, {"role": "user", "content": user}]

    def interpret(self, text: str, observation: Observation) -> Interpretation:
        """The act from ``<Answer>`` (or, failing that, from text after ``</think>``), plus the SIP check."""
        check = sip.check_sip(text)
        parsed = check.parse
        if parsed.answer is not None:
            source, fallback = parsed.answer, False
        elif parsed.think_span is not None and parsed.suffix.strip():
            source, fallback = parsed.suffix, True
        elif parsed.think_span is None and not parsed.order:
            source, fallback = text, True  # the format was ignored: no reasoning to keep private
        else:
            raise UnusableOutputError("reasoning without an <Answer>")
        try:
            action, parse_fallback = parse_action(
                source, observation.available_actions, name=self.name or observation.agent, speech_ok=True
            )
        except EmptyOutputError as exc:
            raise UnusableOutputError("empty <Answer>" if parsed.answer is not None else str(exc)) from exc
        return Interpretation(
            action=action,
            fallback=fallback or parse_fallback,
            reasoning=parsed.think,
            sip_ok=check.ok,
            sip_problems=tuple(check.problems),
        )
