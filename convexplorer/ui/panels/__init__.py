"""One panel a file; each can be launched alone with ``python -m convexplorer.ui.panels.NAME``."""
