"""ConvExplorer: see how convolutional neural networks work, and build your own.

Importing this package is cheap: TensorFlow and Qt are imported only by the
modules that need them.
"""

__version__ = "0.1.0"
