"""Social-episode environments (PettingZoo)."""
