"""Every built-in lesson, walked end to end on the real panels, as a student would."""

from __future__ import annotations

import pytest

from convexplorer.core.lessons import load_lessons
from convexplorer.ui.lessons import lessons_dir

LESSONS = load_lessons(lessons_dir())


#: The lessons' window does not write its settings (tests/ui/conftest.py: module_window).
KEEP_SETTINGS = False


def test_there_are_six_lessons():
    assert len(LESSONS) >= 6, [l.id for l in LESSONS]


@pytest.mark.allow_leaks  # the module-scoped window lives across the lesson tests
@pytest.mark.parametrize("lesson", LESSONS, ids=[l.id for l in LESSONS])
def test_lesson_runs_end_to_end(window, qtbot, lesson):
    # the app seeds the data (split, shuffle) but not the weights: seed them here, so that a lesson's
    # training reaches the same figure on every run, busy machine or not
    import keras

    keras.utils.set_random_seed(0)
    dock = window.lessons
    window.start_lesson(lesson.id)
    dock.start(lesson.id, restart=True)
    assert dock.lesson == lesson
    for i, step in enumerate(lesson.steps):
        assert dock.index == i
        assert "could not set up" not in dock.status.text(), f"step {i + 1}: {dock.status.text()}"
        if step.panel:
            assert window.current_panel_key() == step.panel, f"step {i + 1} shows {window.current_panel_key()}"
        if step.highlight:
            assert dock.highlight.target is not None, f"step {i + 1}: highlight {step.highlight} not found"
        if step.quiz is not None:
            wrong = next(j for j in range(len(step.quiz.choices)) if j != step.quiz.answer)
            dock.answer_quiz(wrong)
            assert not dock.is_step_done()
            dock.answer_quiz(step.quiz.answer)
        elif step.check is not None:
            dock.show_me()
            try:
                qtbot.waitUntil(dock.is_step_done, timeout=int(step.timeout_s * 1000))
            except qtbot.TimeoutError:
                values = "; ".join(f"{c.target} is {dock.runner.value(c.target)!r}" for c in step.checks)
                pytest.fail(f"step {i + 1} ({step.title}): {values}; the side bar says {dock.status.text()!r}")
        # What the student sees: Next unlocks (the side bar polls a few times a second).
        qtbot.waitUntil(dock.next_button.isEnabled, timeout=2000)
        dock.next()
    assert dock.lesson is None  # finished: back to the course
    assert window.settings.value(f"lessons/{lesson.id}/done", False, type=bool)
