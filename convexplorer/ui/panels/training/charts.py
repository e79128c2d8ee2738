"""The live charts: loss, accuracy (and any other metric) and learning rate, with their display options.

The charts draw the batches and epochs they are given, whole histories of kept
runs, and other runs' per-epoch curves overlaid for comparison (series keys
with ``/cmp/``). They redraw on their own throttled timers (``LiveChart``).
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QSlider, QVBoxLayout, QWidget

from convexplorer.core.training import BatchEvent, EpochEvent, History, batch_positions
from convexplorer.ui.widgets.live_chart import LiveChart

TRAIN_COLOR = "#1f77b4"
VAL_COLOR = "#ff7f0e"
COMPARE_COLORS = ["#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]
METRIC_TITLES = {"loss": "Loss", "accuracy": "Accuracy", "learning_rate": "Learning rate"}


class LiveCharts(QWidget):
    """A bar of chart options above one chart a metric, learning rate last."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.charts: dict[str, LiveChart] = {}
        cv = QVBoxLayout(self)
        cv.setContentsMargins(0, 0, 0, 0)
        cv.setSpacing(2)
        bar = QHBoxLayout()
        bar.addWidget(QLabel("Smoothing"))
        self.smoothing_slider = QSlider(Qt.Orientation.Horizontal)
        self.smoothing_slider.setRange(0, 99)
        self.smoothing_slider.setValue(80)
        self.smoothing_slider.setMaximumWidth(160)
        self.smoothing_slider.setToolTip("Exponential moving average: each point = factor x previous + (1 - factor) x new")
        self.smoothing_value = QLabel("0.80")
        self.smoothing_value.setMinimumWidth(30)
        bar.addWidget(self.smoothing_slider)
        bar.addWidget(self.smoothing_value)
        self.log_check = QCheckBox("Log scale")
        self.log_check.setToolTip("Logarithmic y axis for the loss and learning-rate charts")
        self.batches_check = QCheckBox("Per-batch curves")
        self.batches_check.setChecked(True)
        bar.addSpacing(12)
        bar.addWidget(self.log_check)
        bar.addWidget(self.batches_check)
        bar.addStretch(1)
        self.legend_label = QLabel(
            f"<span style='color:{TRAIN_COLOR}'>■ training</span> &nbsp; "
            f"<span style='color:{VAL_COLOR}'>■ validation</span> &nbsp; thin: per batch · dots: per epoch"
        )
        bar.addWidget(self.legend_label)
        cv.addLayout(bar)
        self.charts_row = QHBoxLayout()
        self.charts_row.setSpacing(4)
        cv.addLayout(self.charts_row, 1)
        for m in ("loss", "accuracy", "learning_rate"):
            self.chart(m)

        self.smoothing_slider.valueChanged.connect(self._on_smoothing)
        self.log_check.toggled.connect(self._on_log)
        self.batches_check.toggled.connect(self._on_show_batches)

    def chart(self, metric: str) -> LiveChart:
        """The chart of ``metric``, made (with the current options) the first time it is asked for."""
        chart = self.charts.get(metric)
        if chart is None:
            title = METRIC_TITLES.get(metric, metric.replace("_", " "))
            chart = LiveChart(title, x_label="epoch")
            chart.setObjectName(f"chart_{metric}")
            if metric == "learning_rate":
                chart.add_series("lr/batch", "learning rate", "#555555", kind="batch", in_legend=False, smooth=False)
                chart.set_zero_based(True)
                chart.setMaximumWidth(300)
            else:
                chart.add_series(f"{metric}/train/batch", "train (batch)", TRAIN_COLOR, kind="batch", width=1.0, in_legend=False)
                chart.add_series(f"{metric}/train/epoch", "train", TRAIN_COLOR, kind="epoch", in_legend=False, smooth=False)
                chart.add_series(f"{metric}/val/epoch", "validation", VAL_COLOR, kind="epoch", in_legend=False, smooth=False)
            chart.set_smoothing(self.smoothing_slider.value() / 100)
            if metric != "accuracy":
                chart.set_log_y(self.log_check.isChecked())
            chart.set_show_batches(self.batches_check.isChecked())
            self.charts[metric] = chart
            n = self.charts_row.count()
            # learning rate stays last
            if metric != "learning_rate" and "learning_rate" in self.charts and n > 0:
                self.charts_row.insertWidget(n - 1, chart, 3)
            else:
                self.charts_row.addWidget(chart, 2 if metric == "learning_rate" else 3)
        return chart

    # --- the run being trained ------------------------------------------------------------
    def clear_live(self) -> None:
        """Empty the current run's curves (compared runs stay)."""
        for chart in list(self.charts.values()):
            for key in chart.series_keys():
                if "/cmp/" in key:
                    continue
                chart.set_series(key, np.zeros(0), np.zeros(0))

    def add_batches(self, batches: Sequence[BatchEvent]) -> None:
        """Append batch events to the per-batch curves (x: epochs, fractional within an epoch)."""
        for e in batches:
            x = e.epoch + e.batch / e.steps_per_epoch if e.steps_per_epoch else float(e.step)
            for k, v in e.logs.items():
                if k.startswith("val_"):
                    continue
                self.chart(k).append(f"{k}/train/batch", x, v)
            self.chart("learning_rate").append("lr/batch", x, e.learning_rate)

    def add_epoch(self, event: EpochEvent) -> None:
        """Append an epoch's training and validation metrics to the per-epoch curves."""
        x = event.epoch + 1.0
        for k, v in event.logs.items():
            if k.startswith("val_"):
                self.chart(k[4:]).append(f"{k[4:]}/val/epoch", x, v)
            else:
                self.chart(k).append(f"{k}/train/epoch", x, v)

    def draw_history(self, h: History) -> None:
        """Put a whole history on the charts (reopened runs)."""
        xb = batch_positions(h)
        for k, col in h.batch.items():
            if k in ("step", "epoch"):
                continue
            if k == "learning_rate":
                self.chart("learning_rate").set_series("lr/batch", xb, np.asarray(col))
            else:
                self.chart(k).set_series(f"{k}/train/batch", xb, np.asarray(col))
        xe = np.asarray(h.epoch.get("epoch", []), dtype=np.float64) + 1.0
        for k, col in h.epoch.items():
            if k in ("epoch", "time_s", "batches", "learning_rate"):
                continue
            if k.startswith("val_"):
                self.chart(k[4:]).set_series(f"{k[4:]}/val/epoch", xe, np.asarray(col))
            else:
                self.chart(k).set_series(f"{k}/train/epoch", xe, np.asarray(col))

    # --- compared runs --------------------------------------------------------------------
    def clear_compared(self) -> None:
        """Remove every compared run's curves."""
        for chart in self.charts.values():
            for key in chart.series_keys():
                if "/cmp/" in key:
                    chart.remove_series(key)

    def overlay(self, n: int, run: Any, h: History) -> None:
        """Draw kept run ``run`` (the ``n``-th compared) per epoch: validation if kept, else training."""
        color = COMPARE_COLORS[n % len(COMPARE_COLORS)]
        xe = np.asarray(h.epoch.get("epoch", []), dtype=np.float64) + 1.0
        for m in h.metric_names():
            col = h.epoch.get(f"val_{m}")
            which = "val"
            if col is None or not np.isfinite(np.asarray(col, dtype=float)).any():
                col, which = h.epoch.get(m), "train"
            if col is None:
                continue
            chart = self.chart(m)
            key = f"{m}/cmp/{run.id}"
            short = (run.label or run.id)[:28]
            chart.add_series(key, f"{short} ({which})", color, kind="epoch", width=1.6, smooth=False)
            chart.set_series(key, xe, np.asarray(col))
        lr = h.epoch.get("learning_rate")
        if lr is not None:
            key = f"lr/cmp/{run.id}"
            self.chart("learning_rate").add_series(key, (run.label or run.id)[:28], color, kind="epoch", width=1.6, smooth=False)
            self.chart("learning_rate").set_series(key, xe, np.asarray(lr))

    def redraw_now(self) -> None:
        """Draw every chart at once instead of on its next timer tick."""
        for chart in self.charts.values():
            chart.redraw_now()

    # --- options --------------------------------------------------------------------------
    def _on_smoothing(self, value: int) -> None:
        f = value / 100.0
        self.smoothing_value.setText(f"{f:.2f}")
        for chart in self.charts.values():
            chart.set_smoothing(f)

    def _on_log(self, on: bool) -> None:
        for metric, chart in self.charts.items():
            if metric in ("loss", "learning_rate") or "loss" in metric:
                chart.set_log_y(on)

    def _on_show_batches(self, on: bool) -> None:
        for chart in self.charts.values():
            chart.set_show_batches(on)
