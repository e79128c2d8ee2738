"""Data panel: choose a data set, browse it, split it, and preview its augmentation.

Sources: the built-in Shapes set (offline, loaded at start), MNIST,
Fashion-MNIST and CIFAR-10 (downloaded once with progress and cancel, then
cached), or an image folder (one sub-folder per class, or
train/validation/test folders of class folders; opened or dropped). The
thumbnail grid loads lazily; a click shows the full image with its label and
size, a double-click sends it to Inspect. Image size, colour mode, split
fractions and seed, and the augmentation apply to the data set handed to the
other panels (``state.set_dataset``); the augmentation preview uses the very
Keras layers training uses.

One part a file:

* ``panel.py``        -- :class:`DataPanel`: builds the parts, lays them out, wires their signals
* ``sources.py``      -- the list of sources and how each loads; the "Source" box (load, open folder, progress)
* ``preparation.py``  -- the "Preparation" box: image size, colour, split
* ``augmentation.py`` -- the "Augmentation" box: the controls and their two presets
* ``browser.py``      -- class/subset filter, thumbnail grid, list of skipped files
* ``counts.py``       -- the images-per-class bar chart
* ``sample.py``       -- the "Sample" box: one image full size
* ``preview.py``      -- the "Augmentation preview" box
* ``jobs.py``         -- the background work: loading, fetching a sample, the preview
* ``selection.py``    -- what is shown: source, configured data set, augmentation, current sample

Its screenshot states live in ``convexplorer/ui/screenshots/data.py``.
"""

from convexplorer.ui.panels.data.panel import DataPanel
from convexplorer.ui.panels.data.sources import SOURCES

__all__ = ["SOURCES", "DataPanel"]
