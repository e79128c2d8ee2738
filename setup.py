"""Package layout that pyproject.toml cannot say alone: the top-level ``resources/`` folder
(icons, the .desktop file, lessons, style sheets, sample images) installs as
``convexplorer/resources`` beside the code, so ``importlib.resources`` finds it in a wheel,
an editable install and a PyInstaller build alike. Everything else is in pyproject.toml."""

from setuptools import find_packages, setup

setup(
    packages=find_packages(include=["convexplorer", "convexplorer.*"]) + ["convexplorer.resources"],
    package_dir={"convexplorer.resources": "resources"},
)
