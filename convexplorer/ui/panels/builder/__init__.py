"""The Builder panel: design a convnet by clicks and see exactly what Keras will build.

Every change calls ``state.set_spec`` so that the Training panel builds the
current design. One part a file:

* ``panel.py`` – :class:`BuilderPanel`: builds the parts, wires their signals, redraws them from the design;
* ``design.py`` – :class:`Design`: the spec being edited, its summary and the edits (plain Python, no Qt);
* ``design_bar.py`` – :class:`DesignBar`: preset chooser, New/Open/Save/Export buttons, busy bar, message line;
* ``layers_column.py`` – :class:`LayersColumn`: the palette of layer kinds and the reorderable layer list;
* ``layer_form.py`` – :class:`LayerForm`: the selected layer's properties; ``editors.py``: one editor per parameter type;
* ``input_settings.py`` – :class:`InputSettings`: input shape and classes, from the data set or typed in;
* ``compile_settings.py`` – :class:`CompileSettings`: optimizer, learning rate, labels/loss, metrics;
* ``summary_view.py`` – :class:`SummaryView`: the ``model.summary()`` table (computed without TensorFlow), totals;
* ``diagram_view.py`` – :class:`DiagramView`: the architecture diagram;
* ``files.py`` – :class:`DesignFiles`: open/save JSON designs, open .keras models, export .keras or a script;
* ``bases.py`` – :class:`BaseMeasurer`: measures pretrained bases the summary does not know offline;
* ``jobs.py`` – the functions those two run on workers (they import TensorFlow lazily).

Screenshot states are prepared in :mod:`convexplorer.ui.screenshots.builder`.
"""

from convexplorer.ui.panels.builder.design import SCREENSHOT_PRESET
from convexplorer.ui.panels.builder.panel import BuilderPanel

__all__ = ["SCREENSHOT_PRESET", "BuilderPanel"]
