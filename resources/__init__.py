"""ConvExplorer's data files: icons, the .desktop entry, lessons, style sheets and sample images.

A package only so that it installs beside the code as ``convexplorer.resources``
(see setup.py); ``convexplorer.ui.resources.resources_dir()`` finds it.
"""
