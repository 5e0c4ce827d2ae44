"""Evaluation: judge, MCQ benchmarks, episode store, interactive runs, reports."""
