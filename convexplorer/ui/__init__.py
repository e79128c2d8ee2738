"""Qt user interface. Panels draw results; the maths lives in ``convexplorer.core``."""
