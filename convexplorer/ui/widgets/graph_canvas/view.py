"""The view onto the graph scene: wheel zoom, middle-drag or space-drag pan, fit, rubber-band selection, drops."""

from __future__ import annotations

from PySide6.QtCore import QMimeData, QPoint, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import (
    QDragEnterEvent,
    QDragMoveEvent,
    QDropEvent,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QResizeEvent,
    QShowEvent,
    QWheelEvent,
)
from PySide6.QtWidgets import QGraphicsScene, QGraphicsView, QWidget

#: Drag-and-drop MIME type of a palette entry (the layer kind as text).
KIND_MIME_TYPE = "application/x-convexplorer-layer-kind"


class GraphView(QGraphicsView):
    """A zoomable, pannable view; emits ``dropped`` for palette kinds and copied nodes dropped on it."""

    #: Something droppable landed: (its MIME data, the scene position).
    dropped = Signal(QMimeData, QPointF)
    #: The zoom changed (1.0: 100 %).
    zoom_changed = Signal(float)

    MIN_ZOOM, MAX_ZOOM = 0.1, 4.0
    accepted_types: tuple[str, ...] = (KIND_MIME_TYPE, "application/x-convexplorer-nodes")

    def __init__(self, scene: QGraphicsScene, parent: QWidget | None = None) -> None:
        super().__init__(scene, parent)
        self.setRenderHints(QPainter.RenderHint.Antialiasing | QPainter.RenderHint.TextAntialiasing)
        self.setDragMode(QGraphicsView.DragMode.RubberBandDrag)
        self.setRubberBandSelectionMode(Qt.ItemSelectionMode.IntersectsItemShape)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.SmartViewportUpdate)
        self.setAcceptDrops(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self._pan_from: QPoint | None = None
        self._space = False
        self._fit_pending = False
        self._fit_readable = 0.0

    # --- zoom -----------------------------------------------------------------------
    def zoom(self) -> float:
        """The current scale (1.0: 100 %)."""
        return self.transform().m11()

    def set_zoom(self, factor: float) -> None:
        """Zoom to ``factor`` (clamped), keeping the view centre."""
        factor = min(max(factor, self.MIN_ZOOM), self.MAX_ZOOM)
        self.scale(factor / self.zoom(), factor / self.zoom())
        self.zoom_changed.emit(self.zoom())

    def wheelEvent(self, event: QWheelEvent) -> None:  # noqa: D401 - Qt override
        steps = event.angleDelta().y() / 120.0
        if not steps:
            return super().wheelEvent(event)
        target = min(max(self.zoom() * 1.15 ** steps, self.MIN_ZOOM), self.MAX_ZOOM)
        self.scale(target / self.zoom(), target / self.zoom())
        self.zoom_changed.emit(self.zoom())
        event.accept()

    def fit(self, rect: QRectF | None = None, readable: float = 0.0) -> None:
        """Show everything (or ``rect``), never larger than 100 %; hidden, once more when shown or resized.

        With ``readable`` (a zoom such as 0.6), never smaller either: a big graph then shows its top.
        """
        self._fit_pending = not self.isVisible()  # a hidden view may not have its real size yet
        self._fit_readable = readable
        rect = rect if rect is not None else self.scene().itemsBoundingRect()
        if rect.isEmpty():
            return
        self.fitInView(rect.adjusted(-30, -30, 30, 30), Qt.AspectRatioMode.KeepAspectRatio)
        if self.zoom() > 1.0:
            self.set_zoom(1.0)
            self.centerOn(rect.center())
        elif readable and self.zoom() < readable:
            self.set_zoom(readable)
            half = self.viewport().height() / 2 / readable
            self.centerOn(rect.center().x(), rect.top() + half - 20)
        self.zoom_changed.emit(self.zoom())

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: D401 - Qt override
        super().resizeEvent(event)
        if self._fit_pending:
            self.fit(readable=self._fit_readable)

    def showEvent(self, event: QShowEvent) -> None:  # noqa: D401 - Qt override
        super().showEvent(event)
        if self._fit_pending:
            self.fit(readable=self._fit_readable)

    # --- pan ------------------------------------------------------------------------
    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: D401 - Qt override
        if event.button() == Qt.MouseButton.MiddleButton or (self._space and event.button() == Qt.MouseButton.LeftButton):
            self._pan_from = event.position().toPoint()
            self.viewport().setCursor(Qt.CursorShape.ClosedHandCursor)
            event.accept()
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: D401 - Qt override
        if self._pan_from is not None:
            delta = event.position().toPoint() - self._pan_from
            self._pan_from = event.position().toPoint()
            self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() - delta.x())
            self.verticalScrollBar().setValue(self.verticalScrollBar().value() - delta.y())
            event.accept()
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: D401 - Qt override
        if self._pan_from is not None:
            self._pan_from = None
            self.viewport().setCursor(Qt.CursorShape.OpenHandCursor if self._space else Qt.CursorShape.ArrowCursor)
            event.accept()
            return
        super().mouseReleaseEvent(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: D401 - Qt override
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space = True
            self.viewport().setCursor(Qt.CursorShape.OpenHandCursor)
            event.accept()
            return
        super().keyPressEvent(event)

    def keyReleaseEvent(self, event: QKeyEvent) -> None:  # noqa: D401 - Qt override
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space = False
            self.viewport().setCursor(Qt.CursorShape.ArrowCursor)
            event.accept()
            return
        super().keyReleaseEvent(event)

    # --- drops ------------------------------------------------------------------------
    def _accepts(self, mime: QMimeData) -> bool:
        return any(mime.hasFormat(t) for t in self.accepted_types)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: D401 - Qt override
        if self._accepts(event.mimeData()):
            event.acceptProposedAction()
        else:
            super().dragEnterEvent(event)

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:  # noqa: D401 - Qt override
        if self._accepts(event.mimeData()):
            event.acceptProposedAction()
        else:
            super().dragMoveEvent(event)

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: D401 - Qt override
        if self._accepts(event.mimeData()):
            self.dropped.emit(event.mimeData(), self.mapToScene(event.position().toPoint()))
            event.acceptProposedAction()
            return
        super().dropEvent(event)
