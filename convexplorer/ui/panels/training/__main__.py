"""Show the Training panel alone: ``python -m convexplorer.ui.panels.training``."""

from convexplorer.ui.panels.base import preview
from convexplorer.ui.panels.training.panel import TrainingPanel

if __name__ == "__main__":
    raise SystemExit(preview(TrainingPanel))
