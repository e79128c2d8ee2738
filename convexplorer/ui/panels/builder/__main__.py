"""``python -m convexplorer.ui.panels.builder``: the Builder panel alone, for development."""

from convexplorer.ui.panels.base import preview
from convexplorer.ui.panels.builder.panel import BuilderPanel

raise SystemExit(preview(BuilderPanel))
