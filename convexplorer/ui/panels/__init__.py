"""The panels, one package a panel (its parts one a file); each can be launched alone with
``python -m convexplorer.ui.panels.NAME``."""
