"""``python -m convexplorer.ui.panels.playground``: the Playground alone, for development."""

from convexplorer.ui.panels.base import preview
from convexplorer.ui.panels.playground.panel import PlaygroundPanel

if __name__ == "__main__":
    raise SystemExit(preview(PlaygroundPanel))
