"""The live charts: loss, accuracy (and any other metric) and learning rate, with their display options.

The charts draw the batches and epochs they are given, whole histories of kept
runs, and other runs' per-epoch curves overlaid for comparison (series keys
with ``/cmp/``). They redraw on their own throttled timers (``LiveChart``).

A model with several heads logs Keras's per-head keys (``classes_loss``,
``box_mae``...): each head's loss is one more curve on the loss chart (series
``loss/<head>/...``, a colour a head, labelled by head, validation dashed) beside
the total, and each head's metrics get their own charts ("classes · accuracy").
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QSlider, QVBoxLayout, QWidget

from convexplorer.core.training import BatchEvent, EpochEvent, History, batch_positions, head_names_of, split_head_key
from convexplorer.ui.widgets.live_chart import LiveChart

TRAIN_COLOR = "#1f77b4"
VAL_COLOR = "#ff7f0e"
COMPARE_COLORS = ["#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]
METRIC_TITLES = {"loss": "Loss", "accuracy": "Accuracy", "learning_rate": "Learning rate",
                 "iou": "Box IoU", "mean_iou": "Mean IoU", "ap50": "AP@0.5 (per class: thin)",
                 "ap": "AP@[.5:.95] (per class: thin)"}
#: Colours of the per-class curves of a task metric (``val_ap50.circle`` beside ``val_ap50``).
CLASS_COLORS = ["#8c564b", "#2ca02c", "#9467bd", "#d62728", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f"]
#: One colour a head on the loss chart (training solid, validation dashed).
HEAD_COLORS = ["#2ca02c", "#9467bd", "#d62728", "#8c564b", "#e377c2", "#17becf", "#bcbd22"]
LEGEND_ONE = (
    f"<span style='color:{TRAIN_COLOR}'>■ training</span> &nbsp; "
    f"<span style='color:{VAL_COLOR}'>■ validation</span> &nbsp; thin: per batch · dots: per epoch"
)
HEADS_NOTE = ("Several heads: the loss chart has the total and one colour a head (solid: training, dashed: "
              "validation); each head's metrics have their own chart.")


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
        self.legend_label = QLabel(LEGEND_ONE)
        #: The heads of the model being drawn (from its per-head keys), in the order met; [] for one output.
        self.heads: list[str] = []
        bar.addWidget(self.legend_label)
        cv.addLayout(bar)
        self.heads_note = QLabel(HEADS_NOTE)
        self.heads_note.setObjectName("headsNote")
        self.heads_note.setStyleSheet("color:#444;font-size:11px;")
        self.heads_note.setVisible(False)
        cv.addWidget(self.heads_note)
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
            head, rest = split_head_key(metric, self.heads)
            title = METRIC_TITLES.get(metric, metric.replace("_", " "))
            if head is not None:
                title = f"{head} · {rest.replace('_', ' ')}"
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

    # --- heads -----------------------------------------------------------------------------
    def set_heads(self, heads: Sequence[str]) -> None:
        """Draw these heads (a model with several outputs; [] for one): per-head loss curves, no empty Accuracy chart.

        Heads are also found in the keys drawn (``<head>_loss``), so calling this is optional; it fixes their order.
        """
        for h in heads:
            self._add_head(h)

    def _add_head(self, head: str) -> None:
        if head in self.heads:
            return
        self.heads.append(head)
        color = HEAD_COLORS[(len(self.heads) - 1) % len(HEAD_COLORS)]
        loss = self.chart("loss")
        if len(self.heads) == 1:
            loss.set_legend_label("loss/train/epoch", "total")  # first in the legend, the heads after it
        base = f"loss/{head}"
        loss.add_series(f"{base}/train/batch", f"{head} (batch)", color, kind="batch", width=1.0, in_legend=False)
        loss.add_series(f"{base}/train/epoch", f"{head} loss", color, kind="epoch", smooth=False)
        loss.add_series(f"{base}/val/epoch", f"{head} validation", color, kind="epoch", smooth=False, dashed=True,
                        in_legend=False)
        if len(self.heads) == 1:
            loss.set_title("Loss: total and each head's")
            # the heads' losses differ in scale (a box's error is far below a cross-entropy): the legend
            # goes to the middle, where the curves seldom are
            loss.legend.anchor(itemPos=(1, 0.5), parentPos=(1, 0.5), offset=(-8, 0))
            self.heads_note.setVisible(True)
            acc = self.charts.get("accuracy")
            if acc is not None and not any(acc.data(k)[0].size for k in acc.series_keys()):
                acc.setVisible(False)  # the heads have their own metric charts

    def _route(self, key: str) -> tuple[str, str]:
        """(chart, series prefix) of a training key: ``box_loss`` -> ("loss", "loss/box"), ``box_mae`` -> ("box_mae", ...).

        A per-class task metric (``ap50.circle``, ``iou.background``) is a thin curve on its mean's chart.
        """
        if "." in key:
            base, cls = key.split(".", 1)
            chart = self._data_chart(base)
            keys = chart.series_keys()
            if f"{key}/val/epoch" not in keys:
                n = sum(1 for k in keys if k.startswith(base + ".") and k.endswith("/val/epoch"))
                if base == "iou" and n == 0:  # a mask head's IoU of each class (their mean has its own chart)
                    chart.set_title("IoU per class")
                color = CLASS_COLORS[n % len(CLASS_COLORS)]
                for part in ("train", "val"):
                    chart.add_series(f"{key}/{part}/epoch", cls, color, kind="epoch", width=1.0, in_legend=part == "val",
                                     smooth=False, dashed=part == "train")
            return base, key
        if key.endswith("_loss") and key != "loss":
            self._add_head(key[: -len("_loss")])
        head, metric = split_head_key(key, self.heads)
        if head is not None and metric == "loss":
            return "loss", f"loss/{head}"
        return key, key

    def _data_chart(self, name: str) -> LiveChart:
        chart = self.chart(name)
        if chart.isHidden():
            chart.setVisible(True)
        return chart

    # --- the run being trained ------------------------------------------------------------
    def clear_live(self) -> None:
        """Empty the current run's curves (compared runs stay); the heads of the last run are forgotten."""
        for name, chart in list(self.charts.items()):
            for key in chart.series_keys():
                if "/cmp/" in key:
                    continue
                if any(key.startswith(f"loss/{h}/") for h in self.heads) or "." in key.split("/", 1)[0]:
                    chart.remove_series(key)  # a head's loss, a class's curve: the next run may have others
                    continue
                chart.set_series(key, np.zeros(0), np.zeros(0))
            if name == "iou":
                chart.set_title(METRIC_TITLES["iou"])
            if name not in ("loss", "accuracy", "learning_rate") and not any("/cmp/" in k for k in chart.series_keys()):
                chart.setVisible(False)  # a metric of the last run's model: shown again when it has data
        if self.heads:
            self.heads = []
            loss = self.chart("loss")
            loss.set_title(METRIC_TITLES["loss"])
            loss.set_legend_label("loss/train/epoch", None)
            loss.legend.anchor(itemPos=(1, 0), parentPos=(1, 0), offset=(-8, 8))
            self.heads_note.setVisible(False)
        self.chart("accuracy").setVisible(True)

    def add_batches(self, batches: Sequence[BatchEvent]) -> None:
        """Append batch events to the per-batch curves (x: epochs, fractional within an epoch)."""
        for e in batches:
            x = e.epoch + e.batch / e.steps_per_epoch if e.steps_per_epoch else float(e.step)
            for k in head_names_of(list(e.logs)):
                self._add_head(k)
            for k, v in e.logs.items():
                if k.startswith("val_"):
                    continue
                name, prefix = self._route(k)
                self._data_chart(name).append(f"{prefix}/train/batch", x, v)
            self.chart("learning_rate").append("lr/batch", x, e.learning_rate)

    def add_epoch(self, event: EpochEvent) -> None:
        """Append an epoch's training and validation metrics to the per-epoch curves."""
        x = event.epoch + 1.0
        for k in head_names_of(list(event.logs)):
            self._add_head(k)
        for k, v in event.logs.items():
            if k.startswith("val_"):
                name, prefix = self._route(k[4:])
                self._data_chart(name).append(f"{prefix}/val/epoch", x, v)
            else:
                name, prefix = self._route(k)
                self._data_chart(name).append(f"{prefix}/train/epoch", x, v)

    def draw_history(self, h: History) -> None:
        """Put a whole history on the charts (reopened runs)."""
        for head in h.head_names():
            self._add_head(head)
        xb = batch_positions(h)
        for k, col in h.batch.items():
            if k in ("step", "epoch"):
                continue
            if k == "learning_rate":
                self.chart("learning_rate").set_series("lr/batch", xb, np.asarray(col))
            else:
                name, prefix = self._route(k)
                self._data_chart(name).set_series(f"{prefix}/train/batch", xb, np.asarray(col))
        xe = np.asarray(h.epoch.get("epoch", []), dtype=np.float64) + 1.0
        for k, col in h.epoch.items():
            if k in ("epoch", "time_s", "batches", "learning_rate"):
                continue
            if k.startswith("val_"):
                name, prefix = self._route(k[4:])
                self._data_chart(name).set_series(f"{prefix}/val/epoch", xe, np.asarray(col))
            else:
                name, prefix = self._route(k)
                self._data_chart(name).set_series(f"{prefix}/train/epoch", xe, np.asarray(col))

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
        heads = h.head_names()
        for m in h.metric_names():
            head, metric = split_head_key(m, heads)
            if head is not None and metric == "loss":
                continue  # compared runs show their total loss; a head's other metrics have their charts
            col = h.epoch.get(f"val_{m}")
            which = "val"
            if col is None or not np.isfinite(np.asarray(col, dtype=float)).any():
                col, which = h.epoch.get(m), "train"
            if col is None:
                continue
            chart = self._data_chart(m)
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
