"""LiveChart and ConfusionMatrixView: throttled drawing, smoothing, log scale, hover, clicks."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt

from convexplorer.ui.widgets.confusion_matrix import ConfusionMatrixView
from convexplorer.ui.widgets.live_chart import LiveChart, ema


def test_ema_matches_the_textbook_loop():
    rng = np.random.default_rng(0)
    y = rng.random(50)
    y[[5, 6, 20]] = np.nan
    f = 0.8
    expected = []
    prev = None
    for v in y:
        if np.isnan(v):
            expected.append(np.nan)
            continue
        prev = v if prev is None else prev * f + v * (1 - f)  # Chollet's smooth_curve
        expected.append(prev)
    np.testing.assert_allclose(ema(y, f), expected)
    np.testing.assert_array_equal(ema(y[:3], 0.0), y[:3])


@pytest.fixture
def chart(qtbot):
    c = LiveChart("Loss")
    qtbot.addWidget(c)
    c.resize(500, 300)
    c.add_series("b", "batch", "#1f77b4", kind="batch")
    c.add_series("e", "epoch", "#ff7f0e", kind="epoch", smooth=False)
    return c


def test_ten_thousand_points_are_drawn_in_a_few_throttled_redraws(qtbot, chart):
    chart.show()
    qtbot.waitExposed(chart)
    start = chart.redraw_count
    with qtbot.waitSignal(chart.redrawn, timeout=2000):
        for i in range(10_000):
            chart.append("b", i / 100, 1.0 / (1 + i))
    qtbot.waitUntil(lambda: not chart._timer.isActive(), timeout=2000)
    # one redraw for 10,000 appends (throttled by the timer), with every point kept
    assert chart.redraw_count - start <= 2
    x, y = chart.data("b")
    assert x.size == 10_000 and x.dtype == np.float64 and y[-1] == pytest.approx(1 / 10_000)
    item = chart.plot.getPlotItem()
    assert item.ctrl.clipToViewCheck.isChecked() and item.ctrl.autoDownsampleCheck.isChecked()
    assert item.ctrl.peakRadio.isChecked()
    # the smoothed curve is the EMA of the data; the raw curve is drawn faint behind it
    sx, sy = chart._series["b"].smooth.getOriginalDataset()
    np.testing.assert_allclose(sy, ema(y, 0.8))
    chart.close()


def test_smoothing_log_scale_and_hover_readout(qtbot, chart):
    chart.set_series("b", np.array([0.5, 1.0, 1.5]), np.array([1.0, 0.5, 0.25]))
    chart.set_series("e", np.array([1.0]), np.array([0.7]))
    chart.set_smoothing(0.5)
    chart.redraw_now()
    _, sy = chart._series["b"].smooth.getOriginalDataset()
    np.testing.assert_allclose(sy, [1.0, 0.75, 0.5])
    # epoch series are not smoothed
    assert chart._series["e"].smooth.getOriginalDataset()[0] is None or chart._series["e"].smooth.getOriginalDataset()[0].size == 0
    text = chart.readout_at(1.05)
    assert "batch 0.7500" in text and "epoch 0.7000" in text
    chart.set_smoothing(0.0)
    chart.redraw_now()
    assert "batch 0.5000" in chart.readout_at(1.05)
    chart.set_log_y(True)
    chart.redraw_now()
    assert chart.plot.getPlotItem().ctrl.logYCheck.isChecked()
    chart.set_show_batches(False)
    assert "batch" not in chart.readout_at(1.0).split(":")[1]


def test_confusion_matrix_view_paints_and_reports_clicks(qtbot):
    view = ConfusionMatrixView()
    qtbot.addWidget(view)
    view.resize(360, 320)
    cm = np.array([[5, 1, 0], [2, 7, 1], [0, 0, 9]])
    view.set_matrix(cm, ["circle", "square", "triangle"])
    view.show()
    qtbot.waitExposed(view)
    x, y = view.cell_center(1, 0)
    assert view.cell_at(x, y) == (1, 0)
    with qtbot.waitSignal(view.cell_clicked) as sig:
        qtbot.mouseClick(view, Qt.MouseButton.LeftButton, pos=QPoint(int(x), int(y)))
    assert sig.args == [1, 0]
    img = view.grab().toImage()
    # the diagonal cell (2, 2) holds its whole row: drawn in the full blue
    cx, cy = view.cell_center(2, 2)
    c = img.pixelColor(int(cx) - 8, int(cy) - 8)
    assert (c.red(), c.green(), c.blue()) == (33, 113, 181)
    view.set_matrix(None)
    assert view.cell_at(x, y) is None
    view.close()
