"""Inspect panel: classify an image and see inside the network.

Models: the one just trained or built (``state.model_changed``), a ``.keras``
file (opened in safe mode), or a pretrained ``keras.applications`` network
with random, ImageNet (downloaded with progress, cached) or file weights.
Images: dropped/opened files, or arrays picked in the Data panel. The image is
fitted to the model's input, classified at once (top-k bars), and the tabs
show feature maps, filter patterns (textbook or Distill-regularized), first-layer
kernels, Grad-CAM and saliency, seven attribution methods with their
randomization sanity check, and the dataset examples that excite each filter.
All TensorFlow work runs in workers; the parts only draw.

One part a file:

* ``panel.py``        InspectPanel: builds the parts, wires their signals, starts the workers
* ``subject.py``      Subject: the model and image under inspection, the image fitted to the model (no Qt)
* ``jobs.py``         the functions run in workers (analysis, maps, Grad-CAM, loading models, examples,
                      attributions, the sanity check, feature visualization)
* ``latest.py``       LatestOnly: only the newest request of each kind is drawn
* ``side_column.py``  SideColumn: the left column (model, image, top-5, messages)
* ``model_box.py``    ModelBox: .keras file, applications zoo and weights, load progress
* ``image_box.py``    ImageBox: open an image, its thumbnail as fed to the model
* ``maps_tab.py``     FeatureMapsTab: a layer's maps, an enlarged channel, its receptive field
* ``patterns_tab.py`` PatternsTab: filter patterns (none / Distill; filter, channel or class logit), progress, cancel
* ``kernels_tab.py``  KernelGrid: the first convolution's kernels
* ``cam_tab.py``      CamTab: Grad-CAM overlay and saliency, class and layer pickers
* ``attributions_tab.py`` AttributionsTab: method, class and options, the map over the image, IG's completeness, sanity check
* ``method_options.py`` MethodOptions: each attribution method's options, shown only for it
* ``sanity_row.py``   SanityRow: one map per randomized layer with its rank correlation
* ``examples_tab.py`` ExamplesTab: layer, filter, k, one filter or all; the data set's top images
* ``examples_grid.py`` ExamplesGrid: clickable tiles, receptive field outlined, its crop beside
* ``job_bar.py``      JobBar: Compute / Cancel and progress for a tab's worker
* ``combos.py``       filling pickers from an analysis without firing their handlers

Its screenshot states are in ``convexplorer/ui/screenshots/inspect.py``.
Run ``python -m convexplorer.ui.panels.inspect`` to see the panel alone.
"""

from convexplorer.ui.panels.inspect.jobs import open_model_file
from convexplorer.ui.panels.inspect.model_box import WEIGHT_CHOICES
from convexplorer.ui.panels.inspect.panel import InspectPanel
from convexplorer.ui.panels.inspect.subject import FREE_SIZE

__all__ = ["FREE_SIZE", "InspectPanel", "WEIGHT_CHOICES", "open_model_file"]
