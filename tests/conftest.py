"""Shared test set-up: statistical model builders importable by name."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent / "statistical"))
