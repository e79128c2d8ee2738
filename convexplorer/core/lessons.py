"""Lessons as data: a TOML format a teacher can write, parsed and validated here.

A lesson file (``resources/lessons/*.toml``) looks like::

    id = "01-convolution"
    title = "Convolution as a sliding window"
    summary = "What a kernel does to an image."

    [[steps]]
    title = "A bright square"
    text = "A convolution slides a small kernel over the image ..."
    panel = "playground"                       # the panel to bring to the front
    do = [                                      # actions run when the step opens
      { target = "playground.sample_combo", set = "Bright square" },
      { call = "playground.show_gabor_bank" },
    ]
    highlight = "playground.stride_spin"        # the widget the student should use
    check = { target = "playground.output_hw", equals = [13, 13] }
    hint = "Set the stride to 2 and watch the output shrink."
    solve = [ { target = "playground.stride_spin", set = 2 } ]   # what "Show me" does

    [[steps]]
    title = "Quiz"
    text = "A 3x3 kernel, stride 1, no padding, on 28x28: what is the output size?"
    quiz = { choices = ["28x28", "26x26", "13x13"], answer = 1 }

Targets are ``panel.attribute[.attribute...]`` paths into the live panels; the
UI resolves them (see ``convexplorer.ui.lessons``). A check compares the
target's current value with one of ``equals``, ``at_least``, ``at_most``,
``contains`` or ``truthy``; ``check = [ {...}, {...} ]`` asks for all of them
(say, the right data set *and* the right size). Parsing never runs code.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ConvExplorerError

PANEL_KEYS = ("data", "playground", "builder", "training", "inspect")
CHECK_OPERATORS = ("equals", "at_least", "at_most", "contains", "truthy")
FORMAT_VERSION = 1


class LessonError(ConvExplorerError):
    """A lesson file is malformed; the message names the file, step and key."""


@dataclass(frozen=True)
class Action:
    """Something the lesson does to the app: set a target's value, or call a method."""

    target: str
    value: Any = None
    call: bool = False
    args: tuple[Any, ...] = ()


@dataclass(frozen=True)
class Check:
    """A condition on a target's value that the student's action must make true."""

    target: str
    operator: str
    expected: Any = None

    def passes(self, value: Any) -> bool:
        """Whether ``value`` satisfies this check."""
        try:
            if self.operator == "equals":
                return _normalise(value) == _normalise(self.expected)
            if self.operator == "at_least":
                return float(value) >= float(self.expected)
            if self.operator == "at_most":
                return float(value) <= float(self.expected)
            if self.operator == "contains":
                return str(self.expected).lower() in str(value).lower()
            if self.operator == "truthy":
                return bool(value) == bool(self.expected)
        except (TypeError, ValueError):
            return False
        return False


def _normalise(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return [_normalise(v) for v in value]
    if hasattr(value, "tolist"):
        return _normalise(value.tolist())
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


@dataclass(frozen=True)
class Quiz:
    """A multiple-choice question; ``answer`` is the index of the right choice."""

    choices: tuple[str, ...]
    answer: int
    explanation: str = ""


@dataclass(frozen=True)
class Step:
    """One idea: text, the app put in the right state, and what the student must do."""

    title: str
    text: str
    panel: str | None = None
    actions: tuple[Action, ...] = ()
    highlight: str | None = None
    check: Check | None = None
    hint: str = ""
    #: Further checks that must pass with ``check`` (a ``check = [...]`` list's others).
    more_checks: tuple[Check, ...] = ()
    quiz: Quiz | None = None
    #: What the "Show me" button does (and what the end-to-end test does): the student's action.
    solution: tuple[Action, ...] = ()
    #: Seconds a check may take to come true after the solution (training steps need longer).
    timeout_s: float = 10.0

    @property
    def checks(self) -> tuple[Check, ...]:
        """Every check of the step (none for a quiz or a step to read)."""
        return (() if self.check is None else (self.check,)) + self.more_checks


@dataclass(frozen=True)
class Lesson:
    """A sequence of steps with an id, a title and a summary."""

    id: str
    title: str
    summary: str
    steps: tuple[Step, ...] = field(default_factory=tuple)
    source: str = ""


def _require(table: dict, key: str, kind: type | tuple[type, ...], where: str) -> Any:
    if key not in table:
        raise LessonError(f"{where}: missing '{key}'")
    value = table[key]
    if not isinstance(value, kind):
        names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise LessonError(f"{where}: '{key}' must be {names}, got {type(value).__name__} {value!r}")
    return value


def _target(value: Any, where: str) -> str:
    if not isinstance(value, str) or "." not in value:
        raise LessonError(f"{where}: a target is 'panel.widget', e.g. 'playground.stride_spin'; got {value!r}")
    panel = value.split(".", 1)[0]
    if panel not in PANEL_KEYS + ("app",):
        raise LessonError(f"{where}: unknown panel '{panel}' in {value!r}; expected one of {', '.join(PANEL_KEYS)}")
    return value


def _parse_action(raw: Any, where: str) -> Action:
    if not isinstance(raw, dict):
        raise LessonError(f"{where}: an action is a table like {{ target = ..., set = ... }}, got {raw!r}")
    if "call" in raw:
        args = raw.get("args", [])
        if not isinstance(args, list):
            raise LessonError(f"{where}: 'args' must be a list")
        return Action(_target(raw["call"], where), call=True, args=tuple(args))
    if "target" in raw and "set" in raw:
        return Action(_target(raw["target"], where), value=raw["set"])
    raise LessonError(f"{where}: an action needs 'target' and 'set', or 'call'; got keys {sorted(raw)}")


def _parse_check(raw: Any, where: str) -> Check:
    if not isinstance(raw, dict):
        raise LessonError(f"{where}: 'check' must be a table")
    target = _target(raw.get("target"), where)
    ops = [op for op in CHECK_OPERATORS if op in raw]
    if len(ops) != 1:
        raise LessonError(f"{where}: 'check' needs exactly one of {', '.join(CHECK_OPERATORS)}; got {sorted(raw)}")
    return Check(target, ops[0], raw[ops[0]])


def _parse_quiz(raw: Any, where: str) -> Quiz:
    if not isinstance(raw, dict):
        raise LessonError(f"{where}: 'quiz' must be a table")
    choices = _require(raw, "choices", list, where + " quiz")
    if len(choices) < 2 or not all(isinstance(c, str) for c in choices):
        raise LessonError(f"{where}: a quiz needs at least two text choices")
    answer = _require(raw, "answer", int, where + " quiz")
    if not 0 <= answer < len(choices):
        raise LessonError(f"{where}: quiz answer {answer} is not the index of a choice (0 to {len(choices) - 1})")
    return Quiz(tuple(choices), answer, str(raw.get("explanation", "")))


def parse_lesson(text: str, source: str = "<lesson>") -> Lesson:
    """Parse and validate one lesson from TOML text; raises :class:`LessonError`."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise LessonError(f"{source}: not valid TOML: {exc}") from None
    version = data.get("format_version", FORMAT_VERSION)
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise LessonError(f"{source}: lesson format {version} is newer than this ConvExplorer understands ({FORMAT_VERSION})")
    lesson_id = _require(data, "id", str, source)
    title = _require(data, "title", str, source)
    raw_steps = _require(data, "steps", list, source)
    if not raw_steps:
        raise LessonError(f"{source}: a lesson needs at least one step")
    steps = []
    for i, raw in enumerate(raw_steps, start=1):
        where = f"{source} step {i}"
        if not isinstance(raw, dict):
            raise LessonError(f"{where}: a step is a [[steps]] table")
        known = {"title", "text", "panel", "do", "highlight", "check", "hint", "quiz", "solve", "timeout"}
        unknown = set(raw) - known
        if unknown:
            raise LessonError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}; allowed: {', '.join(sorted(known))}")
        panel = raw.get("panel")
        if panel is not None and panel not in PANEL_KEYS:
            raise LessonError(f"{where}: unknown panel {panel!r}; expected one of {', '.join(PANEL_KEYS)}")
        actions = tuple(_parse_action(a, where) for a in raw.get("do", []))
        highlight = _target(raw["highlight"], where) if "highlight" in raw else None
        raw_checks = raw.get("check", [])
        if isinstance(raw_checks, dict):
            raw_checks = [raw_checks]
        if not isinstance(raw_checks, list) or ("check" in raw and not raw_checks):
            raise LessonError(f"{where}: 'check' must be a table or a list of tables")
        checks = [_parse_check(c, where) for c in raw_checks]
        check = checks[0] if checks else None
        quiz = _parse_quiz(raw["quiz"], where) if "quiz" in raw else None
        if check and quiz:
            raise LessonError(f"{where}: a step has either a 'check' or a 'quiz', not both")
        if check and not raw.get("solve"):
            raise LessonError(f"{where}: a step with a 'check' needs a 'solve' list (what \"Show me\" does)")
        steps.append(
            Step(
                title=_require(raw, "title", str, where),
                text=_require(raw, "text", str, where).strip(),
                panel=panel,
                actions=actions,
                highlight=highlight,
                check=check,
                more_checks=tuple(checks[1:]),
                hint=str(raw.get("hint", "")),
                quiz=quiz,
                solution=tuple(_parse_action(a, where + " solve") for a in raw.get("solve", [])),
                timeout_s=float(raw.get("timeout", 10.0)),
            )
        )
    return Lesson(lesson_id, title, str(data.get("summary", "")), tuple(steps), source)


def load_lesson(path: str | Path) -> Lesson:
    """Read and validate a lesson file."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise LessonError(f"cannot read lesson {p.name}: {exc}") from None
    return parse_lesson(text, p.name)


def load_lessons(folder: str | Path) -> list[Lesson]:
    """Every ``*.toml`` lesson in a folder, sorted by file name (so ``01-...`` comes first)."""
    return [load_lesson(p) for p in sorted(Path(folder).glob("*.toml"))]
