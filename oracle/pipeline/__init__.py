"""Inference and evaluation off chain: tasks, prompts, models, evaluators, cost, eval runs."""
