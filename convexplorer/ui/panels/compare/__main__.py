"""``python -m convexplorer.ui.panels.compare``: the Compare panel alone, for development."""

from convexplorer.ui.panels.base import preview
from convexplorer.ui.panels.compare.panel import ComparePanel

if __name__ == "__main__":
    raise SystemExit(preview(ComparePanel))
