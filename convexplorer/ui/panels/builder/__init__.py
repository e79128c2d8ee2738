"""The Builder panel: design a convnet as a graph by clicks and see exactly what Keras will build.

Every change goes through the graph canvas's undo stack and calls ``state.set_spec``
so that the Training panel builds the current design. One part a file:

* ``panel.py`` – :class:`BuilderPanel`: builds the parts, wires their signals, redraws them from the design;
* ``design.py`` – :class:`Design`: the spec being edited, its summary and the edits (plain Python, no Qt);
* ``edits.py`` – :class:`DesignEdit`: a Design edit as an undoable command on the canvas's stack;
* ``graph_view.py`` – :class:`GraphView`: the graph canvas (main view), its toolbar and the read-only banner;
* ``heads_editor.py`` – :class:`HeadsEditor`: the model's outputs, their losses, weights, targets, metrics;
* ``palette_button.py`` – :class:`PaletteButton`: a layer kind to click or drag onto the graph;
* ``design_bar.py`` – :class:`DesignBar`: preset chooser, New/Open/Save/Export buttons, busy bar, message line;
* ``layers_column.py`` – :class:`LayersColumn`: the palettes of layer kinds and blocks, and the layer list;
* ``layer_form.py`` – :class:`LayerForm`: the selected layer's properties; ``editors.py``: one editor per parameter type;
* ``input_settings.py`` – :class:`InputSettings`: input shape and classes, from the data set or typed in;
* ``compile_settings.py`` – :class:`CompileSettings`: optimizer, learning rate, labels/loss, metrics;
* ``summary_view.py`` – :class:`SummaryView`: the ``model.summary()`` table (computed without TensorFlow), totals;
* ``diagram_view.py`` – :class:`DiagramView`: the architecture diagram (a stack's blocks, in a tab);
* ``files.py`` – :class:`DesignFiles`: open/save JSON designs, open Keras JSON and .keras/.h5 models as graphs,
  export .keras, Keras JSON or a script;
* ``bases.py`` – :class:`BaseMeasurer`: measures pretrained bases and kept Keras layers the summary does not know offline;
* ``jobs.py`` – the functions those two run on workers (they import TensorFlow lazily).

Screenshot states are prepared in :mod:`convexplorer.ui.screenshots.builder`.
"""

from convexplorer.ui.panels.builder.design import SCREENSHOT_PRESET
from convexplorer.ui.panels.builder.panel import BuilderPanel

__all__ = ["SCREENSHOT_PRESET", "BuilderPanel"]
