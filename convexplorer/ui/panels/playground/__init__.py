"""The Playground: live convolution, padding, stride, dilation and pooling on real images.

Pick an image and a kernel, change padding, stride, dilation, bias, ReLU and
pooling, and watch the feature map and pooled map change while you drag. The
maths is :mod:`convexplorer.core.conv` (numpy, no TensorFlow); this package only
draws it. A step-through mode walks the sliding window over the padded input
and writes out the multiply-add of each output pixel; the Gabor bank tab
applies a grid of orientations x frequencies to the image. The Operation box
switches to a transposed convolution (shown as zeros inserted into the input,
with its size formula) or to upsampling (nearest beside bilinear).

Which file holds what:

* ``panel.py`` -- :class:`PlaygroundPanel`: builds the parts, wires their signals, public API.
* ``image_source.py`` -- the Input box (samples, opened images, channel mode) and ``MAX_SIDE``.
* ``operation_controls.py`` -- the Operation box (convolution, transposed convolution, upsampling and their settings).
* ``kernel_controls.py`` -- the Kernel box (presets, Gabor sliders, weight grid); keeps the kernel in use.
* ``conv_controls.py`` -- the Convolution box (padding, stride, dilation, bias, ReLU).
* ``pool_controls.py`` -- the Pooling box.
* ``step_through.py`` -- the Step-through box (play/step/stop, speed, zoom) and the window's position.
* ``conv_views.py`` -- the Convolution tab: input, kernel, feature and pooled maps, messages, shapes.
* ``operation_views.py`` -- the same tab's views as the transposed convolution and upsampling use them.
* ``gabor_bank.py`` -- the Gabor bank tab, computed on a worker thread.
* ``compute.py`` -- one run on plain arrays (settings in, maps and notes out; no Qt).
* ``operations.py`` -- the same for the transposed convolution and upsampling (no Qt).
* ``describe.py`` -- the words: shapes and formulas, global pooling, one step's multiply-add (no Qt).
* ``fields.py`` -- small widget makers shared by the boxes.

Screenshot states live in :mod:`convexplorer.ui.screenshots.playground`.
Run alone with ``python -m convexplorer.ui.panels.playground``.
"""

from .compute import MODES
from .gabor_bank import BANK_SIDE
from .image_source import MAX_SIDE
from .kernel_controls import CUSTOM
from .operations import OPERATIONS
from .panel import PlaygroundPanel

__all__ = ["BANK_SIDE", "CUSTOM", "MAX_SIDE", "MODES", "OPERATIONS", "PlaygroundPanel"]
