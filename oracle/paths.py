"""Where the project lives: the checkout root, for the paths a run records relative to it."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
