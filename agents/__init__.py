"""Agents: litellm partners, the SIP-structured SocialR1 agent, a human agent, the embedded model."""
