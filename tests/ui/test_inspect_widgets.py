"""The Inspect panel's widgets: tiling, colour scales, overlays and the top-k chart."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
import pytest

from convexplorer.ui.widgets.feature_grid import FeatureGrid, grid_shape, normalise_tiles, tile
from convexplorer.ui.widgets.overlay_view import OverlayView, blend, colorize
from convexplorer.ui.widgets.topk_chart import TopKChart, bar_text


def test_tile_places_maps_row_by_row_with_gaps():
    maps = np.arange(3 * 2 * 2, dtype=np.float32).reshape(3, 2, 2)
    out = tile(maps, cols=2, pad=1, fill=-1)
    expected = np.array(
        [[0, 1, -1, 4, 5], [2, 3, -1, 6, 7], [-1, -1, -1, -1, -1], [8, 9, -1, -1, -1], [10, 11, -1, -1, -1]],
        np.float32,
    )
    np.testing.assert_array_equal(out, expected)
    assert grid_shape(10) == (3, 4) and grid_shape(0) == (0, 0)


def test_normalise_per_map_and_shared():
    maps = np.array([[[0, 2]], [[10, 30]], [[5, 5]]], np.float32)  # 3 maps of 1x2
    per = normalise_tiles(maps, shared=False)
    np.testing.assert_allclose(per, [[[0, 1]], [[0, 1]], [[0, 0]]])
    shared = normalise_tiles(maps, shared=True)
    np.testing.assert_allclose(shared, maps / 30.0)


def test_feature_grid_draws_one_image_and_finds_tiles(qtbot):
    grid = FeatureGrid()
    qtbot.addWidget(grid)
    maps = np.random.default_rng(0).random((8, 8, 5), dtype=np.float32)
    grid.set_maps(maps)
    img = grid.tiled()
    assert grid.count == 5 and img.shape == (2 * 8 + 1, 3 * 8 + 2)  # 3 columns, pad 1
    np.testing.assert_allclose(img[:8, 9:17], normalise_tiles(np.moveaxis(maps, -1, 0), False)[1])
    assert np.isnan(img[8, 0])  # the gap is transparent
    assert grid.tile_at(9 + 3.5, 9 + 2.5) == (4, 2, 3)
    with qtbot.waitSignal(grid.tile_clicked) as sig:
        grid.tile_clicked.emit(1, 0, 0)
    assert sig.args == [1, 0, 0]
    grid.set_maps(np.random.default_rng(1).random((4, 6, 6, 3), dtype=np.float32), rgb=True)
    assert grid.tiled().shape == (13, 20, 3)  # 4 tiles: 3 columns (the grid is wider than tall), 2 rows


def test_blend_and_colorize():
    img = np.full((2, 3, 1), 0.25, np.float32)
    heat = np.array([[0, 0.5, 1], [1, 0.5, 0]], np.float32)
    np.testing.assert_allclose(blend(img, heat, 0.0), 0.25)
    ref = np.asarray(pg.colormap.get("inferno").map(heat.ravel().astype(float), mode="float"))[:, :3].reshape(2, 3, 3)
    np.testing.assert_allclose(colorize(heat, "inferno"), ref, atol=1e-6)
    np.testing.assert_allclose(blend(img, heat, 0.4), 0.6 * 0.25 + 0.4 * ref, atol=1e-6)
    with pytest.raises(ValueError, match="heat map is 1x1 but the image is 2x3"):
        blend(img, np.zeros((1, 1)), 0.5)


def test_overlay_view_and_topk_chart(qtbot):
    view = OverlayView("cam")
    qtbot.addWidget(view)
    view.set_base(np.zeros((4, 4, 3), np.float32))
    view.set_heat(np.ones((4, 4), np.float32))
    view.set_opacity(1.0)
    np.testing.assert_allclose(view.composite(), colorize(np.ones((4, 4)), "inferno"), atol=1e-6)
    chart = TopKChart()
    qtbot.addWidget(chart)
    chart.set_predictions([(3, "tabby", 0.7), (1, None, 0.2)], note="n")
    assert chart.predictions() == [(3, "tabby", 0.7), (1, None, 0.2)]
    assert bar_text(3, "tabby") == "tabby (3)" and bar_text(1, None) == "class 1"
    chart.resize(300, 160)
    assert not chart.grab().isNull()


def test_array_to_pixmap_converts_floats_grey_and_extra_channels(qapp):
    from convexplorer.ui.widgets.thumbnail_grid import array_to_pixmap

    grey = np.array([[0.0, 0.5], [1.0, 0.25]], np.float32)[..., None]
    img = array_to_pixmap(grey, 2).toImage()
    assert (img.width(), img.height()) == (2, 2)
    expected = (np.clip(grey[..., 0], 0, 1) * 255 + 0.5).astype(np.uint8)  # rounding by hand
    assert [[img.pixelColor(x, y).red() for x in range(2)] for y in range(2)] == expected.tolist()
    rgba = np.zeros((3, 6, 4), np.uint8)
    rgba[..., 0], rgba[..., 3] = 200, 7  # alpha is dropped, not read as a colour
    wide = array_to_pixmap(rgba, 12).toImage()
    assert (wide.width(), wide.height()) == (12, 6)  # aspect kept inside 12 x 12
    c = wide.pixelColor(5, 3)
    assert (c.red(), c.green(), c.blue()) == (200, 0, 0)
