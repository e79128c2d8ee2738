"""The lesson format: valid files parse, every mistake a teacher can make is named."""

from __future__ import annotations

import pytest

from convexplorer.core.lessons import Check, LessonError, parse_lesson

GOOD = """
id = "t"
title = "Test lesson"
summary = "s"

[[steps]]
title = "One"
text = "  Slide the kernel.  "
panel = "playground"
do = [ { target = "playground.sample_combo", set = "Bright square" }, { call = "playground.show_gabor_bank", args = [2] } ]
highlight = "playground.stride_spin"
check = { target = "playground.output_hw", equals = [13, 13] }
hint = "stride 2"
solve = [ { target = "playground.stride_spin", set = 2 } ]

[[steps]]
title = "Quiz"
text = "What size?"
quiz = { choices = ["28", "26"], answer = 1, explanation = "28 - 3 + 1" }
"""


def test_good_lesson_parses():
    lesson = parse_lesson(GOOD, "good.toml")
    assert lesson.id == "t" and len(lesson.steps) == 2
    first = lesson.steps[0]
    assert first.text == "Slide the kernel."
    assert first.actions[0].target == "playground.sample_combo" and first.actions[0].value == "Bright square"
    assert first.actions[1].call and first.actions[1].args == (2,)
    assert first.check == Check("playground.output_hw", "equals", [13, 13])
    assert lesson.steps[1].quiz.answer == 1
    assert first.solution[0].value == 2 and first.timeout_s == 10.0


def test_a_list_of_checks_asks_for_all_of_them():
    text = (
        "id='x'\ntitle='x'\n[[steps]]\ntitle='a'\ntext='b'\n"
        "check=[{target='app.state.dataset.task', equals='localization'}, "
        "{target='app.state.dataset.__len__', at_least=2000}]\nsolve=[{call='data.reload'}]"
    )
    step = parse_lesson(text).steps[0]
    assert step.check == Check("app.state.dataset.task", "equals", "localization")
    assert step.checks == (step.check, Check("app.state.dataset.__len__", "at_least", 2000))
    with pytest.raises(LessonError, match="a table or a list of tables"):
        parse_lesson(text.replace("check=[{", "check=[]\n#").split("\nsolve")[0] + "\nsolve=[{call='data.x'}]")


@pytest.mark.parametrize(
    "text, message",
    [
        ("id = 1\ntitle='x'\nsteps=[]", "'id' must be str"),
        ("title='x'\n[[steps]]\ntitle='a'\ntext='b'", "missing 'id'"),
        ("id='x'\ntitle='x'\nsteps=[]", "at least one step"),
        ("id='x'\ntitle='x'\n[[steps]]\ntitle='a'\ntext='b'\npanel='kitchen'", "unknown panel 'kitchen'"),
        ("id='x'\ntitle='x'\n[[steps]]\ntitle='a'\ntext='b'\ncolour='red'", "unknown key(s) colour"),
        ("id='x'\ntitle='x'\n[[steps]]\ntitle='a'\ntext='b'\ncheck={target='playground.a'}", "exactly one of"),
        ("id='x'\ntitle='x'\n[[steps]]\ntitle='a'\ntext='b'\ncheck={target='playground.a', equals=1}", "needs a 'solve' list"),
        ("id='x'\ntitle='x'\n[[steps]]\ntitle='a'\ntext='b'\nhighlight='stride'", "a target is 'panel.widget'"),
        ("id='x'\ntitle='x'\n[[steps]]\ntitle='a'\ntext='b'\nquiz={choices=['a','b'], answer=5}", "not the index of a choice"),
        ("id='x'\ntitle='x'\n[[steps]]\ntitle='a'\ntext='b'\ndo=[{target='playground.a'}]", "needs 'target' and 'set'"),
        ("id='x'\ntitle='x'\nformat_version=9\n[[steps]]\ntitle='a'\ntext='b'", "newer than this ConvExplorer"),
        ("id = 'x\n", "not valid TOML"),
    ],
)
def test_mistakes_are_named(text, message):
    with pytest.raises(LessonError) as info:
        parse_lesson(text, "bad.toml")
    assert message in str(info.value)
    assert str(info.value).startswith("bad.toml")


@pytest.mark.parametrize(
    "op, expected, value, ok",
    [
        ("equals", [13, 13], (13, 13), True),
        ("equals", [13, 13], (14, 13), False),
        ("equals", 2, 2.0, True),
        ("at_least", 0.9, 0.95, True),
        ("at_least", 0.9, 0.5, False),
        ("at_most", 3, 4, False),
        ("contains", "sobel", "Sobel x", True),
        ("truthy", True, [], False),
        ("at_least", 1, "not a number", False),
    ],
)
def test_check_operators(op, expected, value, ok):
    assert Check("playground.x", op, expected).passes(value) is ok
