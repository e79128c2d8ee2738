"""The design's ``model.summary()`` table (a tab), and its totals, memory and what is wrong (always in sight)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGridLayout, QLabel, QVBoxLayout, QWidget

from convexplorer.core.summary import Summary
from convexplorer.ui.style import set_role
from convexplorer.ui.widgets.layer_table import SummaryTable


class SummaryView(QWidget):
    """The summary as Keras will print it (computed without TensorFlow); totals and a verdict in :attr:`totals_box`.

    The panel places :attr:`totals_box` where it stays in sight whichever tab is shown.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        v = QVBoxLayout(self)
        v.setContentsMargins(4, 4, 4, 4)
        head = QLabel("<b>Summary</b> – as Keras's model.summary() will print it (computed without TensorFlow)")
        head.setWordWrap(True)
        v.addWidget(head)
        self.summary_table = SummaryTable()
        v.addWidget(self.summary_table, 1)
        #: The totals, memory and verdict, side by side (placed by the panel).
        self.totals_box = QWidget()
        grid = QGridLayout(self.totals_box)
        grid.setContentsMargins(4, 2, 4, 0)
        grid.setHorizontalSpacing(16)
        grid.setVerticalSpacing(2)
        self.totals_label = QLabel("")
        self.totals_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        grid.addWidget(self.totals_label, 0, 0, Qt.AlignmentFlag.AlignTop)
        self.problem_label = QLabel("")
        self.problem_label.setWordWrap(True)
        self.problem_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        grid.addWidget(self.problem_label, 0, 1, Qt.AlignmentFlag.AlignTop)
        self.memory_label = QLabel("")
        self.memory_label.setWordWrap(True)
        set_role(self.memory_label, "hint")
        grid.addWidget(self.memory_label, 1, 0, 1, 2)
        grid.setColumnStretch(1, 1)

    def show_summary(self, s: Summary, last_valid: Summary) -> None:
        """Show ``s``; when it is invalid or waits for a measurement, the totals of ``last_valid``."""
        self.summary_table.set_summary(s)
        if s.valid:
            self.totals_label.setText("<br>".join(s.totals_lines()))
            self.memory_label.setText("Memory (float32): " + s.memory_text())
            self.memory_label.setVisible(True)
            if s.warnings:
                self._problem("warning", "⚠ " + "<br>⚠ ".join(s.warnings))
            else:
                self._problem("ok", "✔ Valid design: Keras will build exactly this.")
        elif s.pending:
            self._last_totals("Last complete summary:", last_valid)
            self._problem("warning", "⏳ " + next(r.error for r in s.rows if r.pending))
        else:
            self._last_totals("Last valid design:", last_valid)
            self.memory_label.setText("")
            self._problem("error", "✖ " + s.error)

    def _last_totals(self, caption: str, last: Summary) -> None:
        self.totals_label.setText(f"<span style='color:#777'>{caption}</span><br>" + "<br>".join(last.totals_lines()))
        self.memory_label.setVisible(False)

    def _problem(self, role: str, text: str) -> None:
        set_role(self.problem_label, role)
        self.problem_label.setText(text)

    def select_layer(self, index: int) -> None:
        """Select the table row of layer ``index`` (if it has one)."""
        table_row = self.summary_table.row_for_layer(index)
        if table_row is not None:
            self.summary_table.selectRow(table_row)
