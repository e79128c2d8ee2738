"""Guided lessons that drive the real panels.

:class:`LessonRunner` resolves a lesson's ``panel.attribute`` targets against
the live main window, runs a step's actions, evaluates its check and performs
its solution ("Show me"). :class:`LessonsDock` is what the student sees: the
course list, the current step's text, a highlight on the widget to use, the
hint, quizzes, and Back / Show me / Next. Progress is kept in QSettings.
"""

from __future__ import annotations

import logging
from typing import Any

from PySide6.QtCore import QRect, QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractSlider,
    QAbstractSpinBox,
    QButtonGroup,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QRadioButton,
    QStackedWidget,
    QTabWidget,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from convexplorer.core.errors import ConvExplorerError
from convexplorer.core.lessons import Action, Lesson, Step, load_lessons
from convexplorer.ui.resources import resources_dir
from convexplorer.ui.style import set_role

log = logging.getLogger(__name__)


class TargetError(ConvExplorerError):
    """A lesson target does not exist in this version of the app."""


def lessons_dir():
    """Folder of the built-in lessons."""
    return resources_dir() / "lessons"


def widget_value(obj: Any) -> Any:
    """The value a student sees in a widget (or the object itself if it is no input widget)."""
    if isinstance(obj, QTabWidget):
        return obj.tabText(obj.currentIndex())
    if isinstance(obj, QComboBox):
        return obj.currentText()
    if isinstance(obj, QAbstractSpinBox) and hasattr(obj, "value"):
        return obj.value()
    if isinstance(obj, QAbstractSlider):
        return obj.value()
    if isinstance(obj, QLineEdit):
        return obj.text()
    if isinstance(obj, QAbstractButton) and obj.isCheckable():
        return obj.isChecked()
    if isinstance(obj, QWidget) and callable(getattr(obj, "value", None)):
        return obj.value()  # e.g. superqt's labelled sliders
    if callable(obj) and not isinstance(obj, QWidget):
        return obj()
    return obj


def set_widget_value(obj: Any, value: Any) -> bool:
    """Set an input widget as a student would; False if ``obj`` is no input widget."""
    if isinstance(obj, QTabWidget):
        names = [obj.tabText(i) for i in range(obj.count())]
        matches = [i for i, n in enumerate(names) if str(value).lower() in n.lower()]
        if not matches:
            raise TargetError(f"no tab '{value}': the tabs are {names}")
        obj.setCurrentIndex(matches[0])
        return True
    if isinstance(obj, QComboBox):
        index = obj.findText(str(value), Qt.MatchFlag.MatchFixedString)
        if index < 0:
            index = obj.findText(str(value), Qt.MatchFlag.MatchContains)
        if index < 0:
            raise TargetError(f"'{value}' is not one of the choices: {[obj.itemText(i) for i in range(obj.count())]}")
        obj.setCurrentIndex(index)
        return True
    if isinstance(obj, QAbstractSpinBox) and hasattr(obj, "setValue"):
        obj.setValue(value)
        return True
    if isinstance(obj, QAbstractSlider):
        obj.setValue(int(value))
        return True
    if isinstance(obj, QLineEdit):
        obj.setText(str(value))
        obj.editingFinished.emit()
        return True
    if isinstance(obj, QAbstractButton):
        if obj.isCheckable():
            obj.setChecked(bool(value))
        elif value:
            obj.click()
        return True
    if isinstance(obj, QWidget) and callable(getattr(obj, "setValue", None)):
        obj.setValue(value)  # e.g. superqt's labelled sliders
        return True
    return False


class LessonRunner:
    """Runs lesson steps against a main window's panels."""

    def __init__(self, window: Any) -> None:
        self.window = window

    def resolve(self, target: str) -> tuple[Any, Any, str]:
        """``(parent, object, last attribute name)`` for a ``panel.attr[.attr]`` path."""
        head, *path = target.split(".")
        obj: Any = self.window if head == "app" else self.window.panel(head)
        if obj is None:
            raise TargetError(f"no panel '{head}'")
        parent, name = None, head
        for name in path:
            if callable(obj) and not isinstance(obj, (QWidget, type)) and parent is not None:
                obj = obj()  # e.g. "playground.feature_map.shape": call the getter, then go on
            parent = obj
            if isinstance(obj, dict):
                if name not in obj:
                    raise TargetError(f"'{target}': no key '{name}'")
                obj = obj[name]
            else:
                if not hasattr(obj, name):
                    raise TargetError(f"'{target}': {type(obj).__name__} has no '{name}'")
                obj = getattr(obj, name)
        return parent, obj, name

    def value(self, target: str) -> Any:
        """Current value of a target (widgets give what they show; methods are called)."""
        return widget_value(self.resolve(target)[1])

    def widget(self, target: str) -> QWidget | None:
        """The widget a target names, if it is one."""
        try:
            obj = self.resolve(target)[1]
        except TargetError:
            return None
        return obj if isinstance(obj, QWidget) else None

    def perform(self, action: Action) -> None:
        """Run one action: call a method, set a widget, or set a plain attribute."""
        parent, obj, name = self.resolve(action.target)
        if action.call:
            if not callable(obj):
                raise TargetError(f"'{action.target}' cannot be called")
            obj(*action.args)
            return
        if not set_widget_value(obj, action.value):
            if parent is None:
                raise TargetError(f"'{action.target}' cannot be set")
            setattr(parent, name, action.value)

    def open_step(self, step: Step) -> None:
        """Bring the step's panel to the front and run its set-up actions."""
        if step.panel:
            self.window.show_panel(step.panel)
        for action in step.actions:
            self.perform(action)

    def solve(self, step: Step) -> None:
        """Do what the student is asked to do ("Show me")."""
        for action in step.solution:
            self.perform(action)

    def check(self, step: Step) -> bool:
        """Whether the step's check passes now (steps without a check always pass)."""
        if step.check is None:
            return True
        try:
            return all(c.passes(self.value(c.target)) for c in step.checks)
        except TargetError:
            return False


class HighlightFrame(QWidget):
    """An orange frame drawn over the widget the student should use; ignores the mouse."""

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.setAttribute(Qt.WidgetAttribute.WA_NoSystemBackground)
        self.target: QWidget | None = None
        self._timer = QTimer(self)
        self._timer.setInterval(200)
        self._timer.timeout.connect(self._follow)
        self.hide()

    def point_at(self, widget: QWidget | None) -> None:
        """Follow ``widget`` (None hides the frame)."""
        self.target = widget
        if widget is None:
            self._timer.stop()
            self.hide()
        else:
            self._follow()
            self._timer.start()

    def _follow(self) -> None:
        w = self.target
        if w is None or not w.isVisible():
            self.hide()
            return
        top_left = w.mapTo(self.parentWidget(), w.rect().topLeft())
        self.setGeometry(QRect(top_left, w.size()).adjusted(-4, -4, 4, 4))
        self.show()
        self.raise_()

    def paintEvent(self, _event) -> None:  # noqa: N802 - Qt override
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.setPen(QPen(QColor("#ff8c00"), 3))
        p.drawRoundedRect(self.rect().adjusted(2, 2, -2, -2), 6, 6)


class LessonsDock(QWidget):
    """The lessons side bar: course list, then one step at a time."""

    step_changed = Signal(str, int)

    def __init__(self, window: Any, settings: QSettings | None = None) -> None:
        super().__init__()
        self.window = window
        self.settings = settings or QSettings()
        self.runner = LessonRunner(window)
        self.highlight = HighlightFrame(window)
        self.lessons: list[Lesson] = []
        self.lesson: Lesson | None = None
        self.index = 0
        self.load_error = ""
        try:
            self.lessons = load_lessons(lessons_dir())
        except ConvExplorerError as exc:
            self.load_error = str(exc)

        self.stack = QStackedWidget()
        # Page 0: the course.
        course = QWidget()
        cl = QVBoxLayout(course)
        heading = QLabel("<h3>Lessons</h3>Short guided tours through the real panels. Pick one to start.")
        heading.setWordWrap(True)
        cl.addWidget(heading)
        self.lesson_list = QListWidget()
        self.lesson_list.itemActivated.connect(self._start_selected)
        cl.addWidget(self.lesson_list, 1)
        self.start_button = QPushButton("Start lesson")
        self.start_button.clicked.connect(self._start_selected)
        self.restart_button = QPushButton("Restart from the beginning")
        self.restart_button.clicked.connect(lambda: self._start_selected(restart=True))
        row = QHBoxLayout()
        row.addWidget(self.start_button)
        row.addWidget(self.restart_button)
        cl.addLayout(row)
        self.course_message = QLabel(self.load_error)
        self.course_message.setWordWrap(True)
        set_role(self.course_message, "error")
        cl.addWidget(self.course_message)
        self.stack.addWidget(course)
        # Page 1: a step.
        page = QWidget()
        pl = QVBoxLayout(page)
        self.lesson_title = QLabel()
        self.lesson_title.setWordWrap(True)
        self.step_counter = QLabel()
        self.step_text = QTextBrowser()
        self.step_text.setOpenExternalLinks(False)
        self.quiz_box = QWidget()
        self.quiz_layout = QVBoxLayout(self.quiz_box)
        self.quiz_layout.setContentsMargins(0, 0, 0, 0)
        self.quiz_group = QButtonGroup(self)
        self.quiz_group.idClicked.connect(self._quiz_answered)
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.back_button = QPushButton("◀ Back")
        self.show_me_button = QPushButton("Show me")
        self.next_button = QPushButton("Next ▶")
        self.close_button = QPushButton("All lessons")
        self.back_button.clicked.connect(self.back)
        self.show_me_button.clicked.connect(self.show_me)
        self.next_button.clicked.connect(self.next)
        self.close_button.clicked.connect(self.close_lesson)
        buttons = QHBoxLayout()
        for b in (self.close_button, self.back_button, self.show_me_button, self.next_button):
            buttons.addWidget(b)
        pl.addWidget(self.lesson_title)
        pl.addWidget(self.step_counter)
        pl.addWidget(self.step_text, 1)
        pl.addWidget(self.quiz_box)
        pl.addWidget(self.status)
        pl.addLayout(buttons)
        self.stack.addWidget(page)
        layout = QVBoxLayout(self)
        layout.addWidget(self.stack)
        self._quiz_ok = False
        self._poll = QTimer(self)
        self._poll.setInterval(250)
        self._poll.timeout.connect(self._update_status)
        self._fill_course()

    # --- course ---------------------------------------------------------------
    def _fill_course(self) -> None:
        self.lesson_list.clear()
        for lesson in self.lessons:
            done = self.settings.value(f"lessons/{lesson.id}/done", False, type=bool)
            step = self.settings.value(f"lessons/{lesson.id}/step", 0, type=int)
            mark = "✓ " if done else (f"… step {step + 1} · " if step else "")
            item = QListWidgetItem(f"{mark}{lesson.title}\n    {lesson.summary}")
            item.setData(Qt.ItemDataRole.UserRole, lesson.id)
            self.lesson_list.addItem(item)
        if self.lessons and self.lesson_list.currentRow() < 0:
            self.lesson_list.setCurrentRow(0)

    def _start_selected(self, *_args: Any, restart: bool = False) -> None:
        row = self.lesson_list.currentRow()
        if 0 <= row < len(self.lessons):
            self.start(self.lessons[row].id, restart=restart)

    def start(self, lesson_id: str, restart: bool = False) -> None:
        """Open a lesson where the student left it (or at the start)."""
        lesson = next((l for l in self.lessons if l.id == lesson_id), None)
        if lesson is None:
            raise TargetError(f"no lesson '{lesson_id}'")
        self.lesson = lesson
        saved = 0 if restart else self.settings.value(f"lessons/{lesson.id}/step", 0, type=int)
        self.stack.setCurrentIndex(1)
        self.go_to(min(max(saved, 0), len(lesson.steps) - 1))
        self._poll.start()

    def close_lesson(self) -> None:
        """Back to the course list."""
        self._poll.stop()
        self.highlight.point_at(None)
        self.lesson = None
        self.stack.setCurrentIndex(0)
        self._fill_course()

    # --- steps ----------------------------------------------------------------
    @property
    def step(self) -> Step | None:
        """The current step."""
        return self.lesson.steps[self.index] if self.lesson else None

    def go_to(self, index: int) -> None:
        """Show step ``index``: text, set-up actions, highlight."""
        assert self.lesson is not None
        self.index = index
        step = self.lesson.steps[index]
        self.settings.setValue(f"lessons/{self.lesson.id}/step", index)
        self.lesson_title.setText(f"<b>{self.lesson.title}</b>")
        self.step_counter.setText(f"Step {index + 1} of {len(self.lesson.steps)}: {step.title}")
        self.step_text.setMarkdown(step.text)
        self._build_quiz(step)
        try:
            self.runner.open_step(step)
        except (ConvExplorerError, TypeError, ValueError) as exc:
            self.status.setText(f"This step could not set up the app: {exc}")
            log.warning("lesson %s step %d: %s", self.lesson.id, index + 1, exc)
        self.highlight.point_at(self.runner.widget(step.highlight) if step.highlight else None)
        self.back_button.setEnabled(index > 0)
        self.show_me_button.setVisible(bool(step.solution))
        self._update_status()
        self.step_changed.emit(self.lesson.id, index)

    def _build_quiz(self, step: Step) -> None:
        for b in self.quiz_group.buttons():
            self.quiz_group.removeButton(b)
            b.deleteLater()
        self._quiz_ok = step.quiz is None
        self.quiz_box.setVisible(step.quiz is not None)
        if step.quiz:
            for i, choice in enumerate(step.quiz.choices):
                button = QRadioButton(choice)
                self.quiz_group.addButton(button, i)
                self.quiz_layout.addWidget(button)

    def answer_quiz(self, choice: int) -> None:
        """Pick a quiz answer (what clicking a choice does)."""
        button = self.quiz_group.button(choice)
        if button is not None:
            button.setChecked(True)
            self._quiz_answered(choice)

    def _quiz_answered(self, choice: int) -> None:
        step = self.step
        if step is None or step.quiz is None:
            return
        self._quiz_ok = choice == step.quiz.answer
        self._update_status()

    def is_step_done(self) -> bool:
        """Whether the student has done what the current step asks."""
        step = self.step
        if step is None:
            return False
        if step.quiz is not None:
            return self._quiz_ok
        return self.runner.check(step)

    def refresh_status(self) -> None:
        """Re-evaluate the current step now (the side bar also polls a few times a second)."""
        self._update_status()

    def _update_status(self) -> None:
        step = self.step
        if step is None:
            return
        done = self.is_step_done()
        last = self.lesson is not None and self.index == len(self.lesson.steps) - 1
        self.next_button.setEnabled(done)
        self.next_button.setText("Finish ✓" if last else "Next ▶")
        if step.quiz is not None:
            picked = self.quiz_group.checkedId()
            if picked < 0:
                self.status.setText("Pick an answer.")
            elif done:
                self.status.setText("✓ Right. " + step.quiz.explanation)
            else:
                self.status.setText("Not quite: think again. " + step.hint)
        elif step.check is None:
            self.status.setText("")
        elif done:
            self.status.setText("✓ Done. Press Next when you are ready.")
        else:
            self.status.setText("→ " + (step.hint or "Do what the text asks; Next unlocks when you have."))

    def next(self) -> None:
        """Go on (only once the step is done)."""
        if self.lesson is None or not self.is_step_done():
            return
        if self.index + 1 < len(self.lesson.steps):
            self.go_to(self.index + 1)
        else:
            self.settings.setValue(f"lessons/{self.lesson.id}/done", True)
            self.settings.setValue(f"lessons/{self.lesson.id}/step", 0)
            self.close_lesson()

    def back(self) -> None:
        """Previous step."""
        if self.lesson is not None and self.index > 0:
            self.go_to(self.index - 1)

    def show_me(self) -> None:
        """Perform the step's solution for the student."""
        step = self.step
        if step is None:
            return
        try:
            self.runner.solve(step)
        except (ConvExplorerError, TypeError, ValueError) as exc:
            self.status.setText(f"Could not do it: {exc}")
        self._update_status()
