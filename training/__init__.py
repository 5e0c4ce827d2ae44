"""Training: reward terms, trajectory-level rollouts and GRPO."""
