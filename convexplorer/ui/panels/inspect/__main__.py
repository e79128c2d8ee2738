"""``python -m convexplorer.ui.panels.inspect``: the Inspect panel alone, for development."""

from convexplorer.ui.panels.base import preview
from convexplorer.ui.panels.inspect.panel import InspectPanel

raise SystemExit(preview(InspectPanel))
