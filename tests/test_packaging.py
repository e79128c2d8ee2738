"""Fast checks of packaging/ that do not build: the spec, the entry script, the .desktop file, the icons.

The real build (about 1 GB, minutes) runs in packaging/build.sh, which also runs the frozen
self-test and screenshots.
"""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
PACKAGING = ROOT / "packaging"
SPEC = PACKAGING / "convexplorer.spec"
DESKTOP = ROOT / "resources" / "convexplorer.desktop"
RESOURCES = ROOT / "resources"
MIME_XML = RESOURCES / "convexplorer-mime.xml"
ICONS = RESOURCES / "icons"

sys.path.insert(0, str(PACKAGING))
import make_icons  # noqa: E402


# --- the spec ---------------------------------------------------------------------------------


def _spec_tree() -> ast.Module:
    return ast.parse(SPEC.read_text(encoding="utf-8"), filename=str(SPEC))


def _spec_constant(name: str):
    """Evaluate a top-level ``NAME = <literal expression>`` of the spec (lists of strings)."""
    for node in _spec_tree().body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in node.targets):
            return eval(compile(ast.Expression(node.value), str(SPEC), "eval"), {})  # noqa: S307 - our own file
    raise AssertionError(f"{name} not assigned in {SPEC.name}")


def _spec_calls(func: str) -> list[ast.Call]:
    return [
        n for n in ast.walk(_spec_tree()) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == func
    ]


def _declared() -> set[str]:
    """Import names of pyproject's runtime dependencies (mapped by hand, independently of the spec)."""
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["dependencies"]
    names = {re.match(r"[A-Za-z0-9_.-]+", d).group(0).lower() for d in deps}
    known = {"pillow": "PIL", "pyside6-essentials": "PySide6", "tensorflow-cpu": "tensorflow", "scikit-image": "skimage"}
    return {known.get(n, n.replace("-", "_")) for n in names}


def _excludes() -> list[str]:
    """What the frozen build leaves out (the spec keeps any excluded name that pyproject declares)."""
    listed = _spec_constant("QT_EXCLUDES") + _spec_constant("TF_EXCLUDES") + _spec_constant("OTHER_EXCLUDES")
    return [m for m in listed if m not in _declared()]


def test_spec_is_one_folder_without_upx():
    """Every EXE/COLLECT turns UPX off; the EXEs leave binaries out (one-folder) and COLLECT gathers them."""
    exes, colls = _spec_calls("EXE"), _spec_calls("COLLECT")
    assert exes and len(colls) == 1
    for call in exes + colls:
        kw = {k.arg: k.value for k in call.keywords}
        assert isinstance(kw["upx"], ast.Constant) and kw["upx"].value is False
    for call in exes:
        kw = {k.arg: k.value for k in call.keywords}
        assert isinstance(kw["exclude_binaries"], ast.Constant) and kw["exclude_binaries"].value is True
    name = next(k.value for k in colls[0].keywords if k.arg == "name")
    assert ast.unparse(name) == "NAME" and _spec_constant("NAME") == "convexplorer"


def test_spec_entry_point_is_the_console_script():
    """The frozen entry script calls the same function as the pip-installed ``convexplorer`` command."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    module, func = pyproject["project"]["scripts"]["convexplorer"].split(":")
    assert "convexplorer_main.py" in SPEC.read_text(encoding="utf-8")
    entry = ast.parse((PACKAGING / "convexplorer_main.py").read_text(encoding="utf-8"))
    imports = [n for n in ast.walk(entry) if isinstance(n, ast.ImportFrom)]
    assert any(n.module == module and func in {a.name for a in n.names} for n in imports)
    calls = {ast.unparse(n.func) for n in ast.walk(entry) if isinstance(n, ast.Call)}
    assert "multiprocessing.freeze_support" in calls and func in calls


def test_entry_script_runs():
    """``python packaging/convexplorer_main.py --version`` prints the package version."""
    from convexplorer import __version__

    env = dict(os.environ, PYTHONPATH=str(ROOT))
    out = subprocess.run(
        [sys.executable, str(PACKAGING / "convexplorer_main.py"), "--version"],
        capture_output=True, text=True, timeout=60, env=env, check=True,
    )
    assert out.stdout.strip() == f"ConvExplorer {__version__}"


def test_spec_excludes_unused_qt_and_tools_but_nothing_needed():
    """The unused Qt modules and TF tooling are excluded; no module the app uses is."""
    excludes = _excludes()
    for unused in ("PySide6.QtQml", "PySide6.QtQuick", "PySide6.QtWebEngineCore", "PySide6.QtNetwork", "PySide6.QtDesigner"):
        assert unused in excludes
    for unused in ("tensorflow.python.kernel_tests", "tensorflow.compiler.mlir.stablehlo", "nvidia", "tensorrt"):
        assert unused in excludes
    needed = ("PySide6", "PySide6.QtCore", "PySide6.QtGui", "PySide6.QtWidgets", "PySide6.QtSvg",
              "PySide6.QtOpenGL", "PySide6.QtOpenGLWidgets", "PySide6.QtTest", "tensorflow", "keras",
              "numpy", "PIL", "pyqtgraph", "superqt", "platformdirs", "h5py", "convexplorer")
    for name in needed:
        assert not any(name == e or name.startswith(e + ".") for e in excludes), name


_IMPORT_ERRORS = {"ImportError", "ModuleNotFoundError", "Exception", "BaseException"}


def _guarded(try_node: ast.Try) -> bool:
    """Whether a try statement catches ImportError (so the import in its body is optional)."""
    for handler in try_node.handlers:
        if handler.type is None:
            return True
        types = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
        if any(ast.unparse(t).split(".")[-1] in _IMPORT_ERRORS for t in types):
            return True
    return False


def unguarded_imports(source: str) -> set[str]:
    """Absolute module names imported by ``source`` outside a ``try: ... except ImportError``."""
    names: set[str] = set()

    def visit(node: ast.AST, guarded: bool) -> None:
        if isinstance(node, ast.Try):
            for child in node.body:
                visit(child, guarded or _guarded(node))
            for child in node.handlers + node.orelse + node.finalbody:
                visit(child, guarded)
            return
        if not guarded:
            if isinstance(node, ast.Import):
                names.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module)
                names.update(f"{node.module}.{a.name}" for a in node.names)
        for child in ast.iter_child_nodes(node):
            visit(child, guarded)

    visit(ast.parse(source), False)
    return names


def test_unguarded_imports_sees_lazy_imports_and_skips_optional_ones():
    """The import scanner below finds imports inside functions and ignores those guarded by ImportError."""
    source = (
        "import numpy\n"
        "def f():\n    from scipy.signal import lfilter\n"
        "def g():\n    try:\n        import skimage\n    except ImportError:\n        pass\n"
        "try:\n    import h5py\nexcept ValueError:\n    pass\n"
    )
    assert unguarded_imports(source) == {"numpy", "scipy.signal", "scipy.signal.lfilter", "h5py"}


def test_app_code_imports_nothing_excluded():
    """No module of the app (lazy imports included) needs a module the frozen build leaves out.

    An import inside ``try: ... except ImportError`` is optional (the app has a fallback) and allowed.
    """
    excludes = _excludes()
    offenders = []
    for path in sorted((ROOT / "convexplorer").rglob("*.py")):
        for name in unguarded_imports(path.read_text(encoding="utf-8")):
            if any(name == e or name.startswith(e + ".") for e in excludes):
                offenders.append(f"{path.relative_to(ROOT)}: {name}")
    assert not offenders, "excluded from the frozen build but imported:\n" + "\n".join(offenders)


def test_spec_keeps_declared_dependencies():
    """The spec drops an excluded name once pyproject declares it (its own reading of pyproject agrees with ours)."""
    text = SPEC.read_text(encoding="utf-8")
    assert "OTHER_EXCLUDES = [m for m in OTHER_EXCLUDES if m not in declared_dependencies()]" in text
    assert {"numpy", "PIL", "PySide6", "tensorflow", "keras", "pyqtgraph", "superqt"} <= _declared()


def test_gui_stack_loads_no_excluded_qt_module():
    """Importing the window, pyqtgraph and superqt (as the app does) loads none of the excluded Qt modules."""
    code = (
        "import sys, pyqtgraph, superqt, superqt.utils\n"
        "import convexplorer.ui.main_window, convexplorer.ui.resources\n"
        "print('\\n'.join(m for m in sys.modules if m.startswith('PySide6.')))\n"
    )
    env = dict(os.environ, PYTHONPATH=str(ROOT), QT_QPA_PLATFORM="offscreen")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=env, check=True)
    loaded = set(out.stdout.split())
    assert {"PySide6.QtCore", "PySide6.QtGui", "PySide6.QtWidgets"} <= loaded
    assert loaded.isdisjoint(_spec_constant("QT_EXCLUDES")), loaded & set(_spec_constant("QT_EXCLUDES"))


@pytest.mark.slow
def test_tensorflow_import_loads_no_excluded_module():
    """``import tensorflow, keras`` and a Keras fit load none of the TensorFlow modules the build excludes."""
    code = (
        "import sys, numpy as np, keras, tensorflow as tf\n"
        "m = keras.Sequential([keras.Input((6, 6, 1)), keras.layers.Conv2D(2, 3), keras.layers.Flatten(), keras.layers.Dense(2)])\n"
        "m.compile('adam', 'mse'); m.fit(np.zeros((2, 6, 6, 1)), np.zeros((2, 2)), verbose=0)\n"
        "print('\\n'.join(sys.modules))\n"
    )
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=180, env=env, check=True)
    loaded = set(out.stdout.split())
    assert "tensorflow" in loaded and "keras" in loaded
    tf_excludes = _spec_constant("TF_EXCLUDES") + ["grpc", "cryptography", "OpenSSL"]
    assert set(tf_excludes) <= set(_excludes())
    hits = sorted(m for m in loaded for e in tf_excludes if m == e or m.startswith(e + "."))
    assert not hits, hits


def test_spec_bundles_resources_where_the_app_looks(tmp_path, monkeypatch):
    """The spec copies resources to convexplorer/resources, and resources_dir() finds them there when frozen."""
    from convexplorer.ui.resources import resources_dir

    analysis = _spec_calls("Analysis")
    assert len(analysis) == 1
    datas = next(k.value for k in analysis[0].keywords if k.arg == "datas")
    dests = [elt.elts[1].value for elt in datas.elts]  # [(source, destination)]
    assert dests == ["convexplorer/resources"]
    frozen = tmp_path / "convexplorer" / "resources"
    frozen.mkdir(parents=True)
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    assert resources_dir() == frozen


def test_spec_carries_windows_and_macos_icons():
    """The spec names the .ico/.icns files and a macOS bundle, and those files exist."""
    text = SPEC.read_text(encoding="utf-8")
    assert "convexplorer.ico" in text and "convexplorer.icns" in text
    bundle = _spec_calls("BUNDLE")
    assert len(bundle) == 1
    kw = {k.arg for k in bundle[0].keywords}
    assert {"icon", "bundle_identifier", "info_plist"} <= kw
    assert (ICONS / "convexplorer.ico").is_file() and (ICONS / "convexplorer.icns").is_file()


def test_build_script_is_valid_shell_and_checks_the_frozen_app():
    """build.sh parses, installs the packaging extra, uses the spec and runs the frozen self-test and screenshot."""
    script = PACKAGING / "build.sh"
    subprocess.run(["bash", "-n", str(script)], check=True)
    text = script.read_text(encoding="utf-8")
    assert '.[packaging]' in text and "packaging/convexplorer.spec" in text
    assert "--self-test" in text and "--screenshot" in text and "tar" in text
    assert os.access(script, os.X_OK) and os.access(PACKAGING / "install-desktop.sh", os.X_OK)


# --- the .desktop file (freedesktop Desktop Entry Specification 1.5) --------------------------

_KNOWN_KEYS = {
    "Type", "Version", "Name", "GenericName", "NoDisplay", "Comment", "Icon", "Hidden", "OnlyShowIn",
    "NotShowIn", "DBusActivatable", "TryExec", "Exec", "Path", "Terminal", "Actions", "MimeType",
    "Categories", "Implements", "Keywords", "StartupNotify", "StartupWMClass", "URL", "PrefersNonDefaultGPU",
    "SingleMainWindow",
}
_BOOLEAN_KEYS = {"NoDisplay", "Hidden", "DBusActivatable", "Terminal", "StartupNotify", "PrefersNonDefaultGPU", "SingleMainWindow"}
_LIST_KEYS = {"OnlyShowIn", "NotShowIn", "Actions", "MimeType", "Categories", "Implements", "Keywords"}
_MAIN_CATEGORIES = {"AudioVideo", "Audio", "Video", "Development", "Education", "Game", "Graphics", "Network",
                    "Office", "Science", "Settings", "System", "Utility"}
#: Additional categories we use -> the categories one of which must be present with them.
_RELATED = {"ArtificialIntelligence": {"Education", "Science"}}


def parse_desktop(text: str) -> dict[str, dict[str, str]]:
    """Parse a .desktop file into groups of keys, checking the syntax rules of the spec."""
    groups: dict[str, dict[str, str]] = {}
    current = None
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        header = re.fullmatch(r"\[([^\[\]\x00-\x1f]+)\]", line)
        if header:
            assert header.group(1) not in groups, f"line {number}: duplicate group"
            current = groups[header.group(1)] = {}
            continue
        assert current is not None, f"line {number}: key before the first group"
        match = re.fullmatch(r"([A-Za-z0-9-]+)(\[[^\]]+\])?\s*=\s*(.*)", line)
        assert match, f"line {number}: not a key=value line: {line!r}"
        key = match.group(1) + (match.group(2) or "")
        assert key not in current, f"line {number}: duplicate key {key}"
        current[key] = match.group(3)
    return groups


def test_desktop_file_is_valid():
    """The .desktop file follows the freedesktop keys, value types and category rules."""
    groups = parse_desktop(DESKTOP.read_text(encoding="utf-8"))
    assert next(iter(groups)) == "Desktop Entry"
    entry = groups["Desktop Entry"]
    for key, value in entry.items():
        base = key.split("[")[0]
        assert base in _KNOWN_KEYS or base.startswith("X-"), f"unknown key {key}"
        if base in _BOOLEAN_KEYS:
            assert value in {"true", "false"}, f"{key}={value} is not a boolean"
        if base in _LIST_KEYS:
            assert value.endswith(";"), f"{key} list must end with ';'"
    assert entry["Type"] == "Application"
    assert entry["Version"] in {"1.0", "1.1", "1.2", "1.3", "1.4", "1.5"}
    assert entry["Name"] == "ConvExplorer"
    # Exec: the command, then only valid field codes; %F because the app opens several files.
    argv = entry["Exec"].split()
    assert argv[0] == "convexplorer" == entry["TryExec"]
    codes = [a for a in argv[1:] if a.startswith("%")]
    assert codes == ["%F"]
    # Icon: a theme name (no path, no extension) that the icon tree provides.
    assert entry["Icon"] == "convexplorer"
    assert make_icons.png_path(48).name == entry["Icon"] + ".png"
    categories = [c for c in entry["Categories"].split(";") if c]
    # One main category, or menus show the app twice (desktop-file-validate's hint).
    assert len(set(categories) & _MAIN_CATEGORIES) == 1
    for cat in categories:
        if cat in _RELATED:
            assert set(categories) & _RELATED[cat], f"{cat} needs one of {_RELATED[cat]}"
    # Qt on X11 sets WM_CLASS's class to the application name: docks group the window with the entry.
    from convexplorer.app import APPLICATION

    assert entry["StartupWMClass"] == APPLICATION
    mimes = [m for m in entry["MimeType"].split(";") if m]
    assert mimes and all(re.fullmatch(r"[a-z]+/[a-z0-9.+-]+", m) for m in mimes)
    assert "image/png" in mimes and "image/jpeg" in mimes


@pytest.mark.skipif(shutil.which("desktop-file-validate") is None, reason="desktop-file-utils not installed")
def test_desktop_file_passes_desktop_file_validate():
    """desktop-file-validate (freedesktop's own checker) reports nothing."""
    out = subprocess.run(["desktop-file-validate", str(DESKTOP)], capture_output=True, text=True)
    assert out.returncode == 0 and not out.stdout.strip(), out.stdout


def test_parse_desktop_rejects_broken_files():
    """The validator used above does catch a duplicate key and a line without '='."""
    with pytest.raises(AssertionError, match="duplicate key"):
        parse_desktop("[Desktop Entry]\nName=a\nName=b\n")
    with pytest.raises(AssertionError, match="not a key=value"):
        parse_desktop("[Desktop Entry]\nName\n")


def test_install_desktop_script_installs_and_uninstalls(tmp_path):
    """install-desktop.sh, run from an unpacked release, installs a menu entry pointing at it, then removes it."""
    release = tmp_path / "release dir"
    release.mkdir()
    exe = release / "convexplorer"
    exe.write_text("#!/bin/sh\nexit 0\n")
    exe.chmod(0o755)
    shutil.copy2(DESKTOP, release / "convexplorer.desktop")
    shutil.copy2(PACKAGING / "install-desktop.sh", release / "install-desktop.sh")
    shutil.copy2(RESOURCES / "convexplorer.svg", release / "convexplorer.svg")
    shutil.copy2(MIME_XML, release / "convexplorer-mime.xml")
    shutil.copytree(ICONS / "hicolor", release / "icons" / "hicolor")
    data = tmp_path / "data"
    env = dict(os.environ, XDG_DATA_HOME=str(data), HOME=str(tmp_path))
    subprocess.run(["sh", str(release / "install-desktop.sh")], check=True, env=env, capture_output=True)
    installed = parse_desktop((data / "applications" / "convexplorer.desktop").read_text())["Desktop Entry"]
    assert installed["Exec"] == f'"{exe}" %F'
    assert installed["TryExec"] == str(exe)
    assert installed["Icon"] == "convexplorer"
    for size in make_icons.PNG_SIZES:
        assert (data / "icons" / "hicolor" / f"{size}x{size}" / "apps" / "convexplorer.png").is_file()
    assert (data / "icons" / "hicolor" / "scalable" / "apps" / "convexplorer.svg").is_file()
    # The file types, and (update-mime-database) the user's MIME database knows their globs.
    assert (data / "mime" / "packages" / "convexplorer.xml").read_bytes() == MIME_XML.read_bytes()
    globs = (data / "mime" / "globs2").read_text()
    assert "application/x-keras:*.keras" in globs and "application/x-convexplorer-workspace:*.cxw" in globs
    subprocess.run(["sh", str(release / "install-desktop.sh"), "--uninstall"], check=True, env=env, capture_output=True)
    assert not (data / "applications" / "convexplorer.desktop").exists()
    assert not list((data / "icons").rglob("convexplorer.*"))
    assert not (data / "mime" / "packages" / "convexplorer.xml").exists()
    assert "application/x-keras" not in (data / "mime" / "globs2").read_text()


# --- icons -------------------------------------------------------------------------------------


@pytest.mark.parametrize("size", make_icons.PNG_SIZES)
def test_png_icons_exist_at_every_size(size):
    """Each hicolor PNG exists, is size x size RGBA, with transparent corners (the icon is a rounded square)."""
    path = make_icons.png_path(size)
    assert path.is_file(), f"missing {path}: run python packaging/make_icons.py"
    with Image.open(path) as im:
        assert im.size == (size, size)
        rgba = np.asarray(im.convert("RGBA"))
    assert rgba[0, 0, 3] == 0 and rgba[-1, -1, 3] == 0
    assert rgba[size // 2, size // 2, 3] == 255


def test_png_icons_match_the_svg(qapp):
    """The committed PNGs are what the SVG renders to now (regenerate them after editing the SVG)."""
    import io

    for size in (16, 48, 256):
        fresh = np.asarray(Image.open(io.BytesIO(make_icons.render_png(size))).convert("RGBA"), dtype=float)
        with Image.open(make_icons.png_path(size)) as im:
            committed = np.asarray(im.convert("RGBA"), dtype=float)
        assert np.abs(fresh - committed).mean() < 1.0, f"{size}px icon is stale: run python packaging/make_icons.py"


def test_ico_and_icns_hold_every_size():
    """The .ico holds ICO_SIZES (its 256 px image is the SVG drawn at 256); the .icns holds 32 to 1024 px."""
    with Image.open(ICONS / "convexplorer.ico") as ico:
        assert set(ico.info["sizes"]) == {(s, s) for s in make_icons.ICO_SIZES}
        ico.size = (256, 256)
        big = np.asarray(ico.convert("RGBA"))
    with Image.open(make_icons.png_path(256)) as png:
        assert np.abs(big.astype(float) - np.asarray(png.convert("RGBA"), dtype=float)).mean() < 1.0
    with Image.open(ICONS / "convexplorer.icns") as icns:
        sizes = {(w * scale) for w, _h, scale in icns.info["sizes"]}
        assert sizes == set(make_icons.ICNS_SIZES)
        assert icns.size == (1024, 1024)  # Pillow opens the largest
        rgba = np.asarray(icns.convert("RGBA"))
    assert rgba[0, 0, 3] == 0 and rgba[512, 512, 3] == 255


# --- an existing build (packaging/build.sh makes it; skipped when there is none) --------------

FROZEN = ROOT / "dist" / "convexplorer" / "convexplorer"


@pytest.mark.skipif(not FROZEN.exists(), reason="no frozen build: run packaging/build.sh")
def test_frozen_build_layout_and_version():
    """The one-folder build holds the executable, the bundled resources and the desktop files, and starts."""
    from convexplorer import __version__

    folder = FROZEN.parent
    assert os.access(FROZEN, os.X_OK)
    assert (folder / "_internal" / "convexplorer" / "resources" / "convexplorer.svg").is_file()
    assert (folder / "convexplorer.desktop").is_file() and (folder / "install-desktop.sh").is_file()
    assert (folder / "icons" / "hicolor" / "48x48" / "apps" / "convexplorer.png").is_file()
    internal = {p.name for p in (folder / "_internal").iterdir()}
    # Left out unless pyproject declares them (scipy became a runtime dependency: then it must be there).
    optional = {"scipy", "IPython", "grpc", "cryptography", "tkinter"}
    assert not internal & (optional - _declared()), internal
    assert optional & _declared() <= internal, internal
    qt_libs = {p.name.split(".")[0] for p in (folder / "_internal" / "PySide6" / "Qt" / "lib").iterdir()}
    assert not qt_libs & {"libQt6Qml", "libQt6Quick", "libQt6WebEngineCore", "libQt6Pdf"}, qt_libs
    out = subprocess.run([str(FROZEN), "--version"], capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.strip() == f"ConvExplorer {__version__}"


# --- the wheel ---------------------------------------------------------------------------------


def test_the_wheel_carries_resources_where_the_installed_app_finds_them(tmp_path):
    """`pip wheel` packs every file of the top-level resources/ as convexplorer/resources, and an
    install of that wheel finds its lessons and icons there (not in this checkout)."""
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "setup.py", "README.md"):
        shutil.copy2(ROOT / name, src / name)
    skip = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(ROOT / "convexplorer", src / "convexplorer", ignore=skip)
    shutil.copytree(RESOURCES, src / "resources", ignore=skip)
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path / "dist"), str(src)],
        capture_output=True, text=True,
    )
    assert built.returncode == 0, built.stderr[-3000:]
    (wheel,) = (tmp_path / "dist").glob("convexplorer-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {
        "convexplorer/resources/" + p.relative_to(RESOURCES).as_posix()
        for p in RESOURCES.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }
    assert expected and not expected - names, sorted(expected - names)[:10]
    assert "convexplorer/resources/convexplorer.desktop" in names
    assert not any(n.startswith(("resources/", "tests/")) for n in names)

    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)], check=True)
    probe = (
        "from convexplorer.ui.resources import resources_dir; d = resources_dir(); "
        "print(d); print(len(list((d / 'lessons').glob('*.toml'))))"
    )
    env = dict(os.environ, PYTHONPATH=str(target), QT_QPA_PLATFORM="offscreen")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-2000:]
    found, lessons = out.stdout.split()
    assert Path(found) == target / "convexplorer" / "resources"
    assert int(lessons) == len(list((RESOURCES / "lessons").glob("*.toml"))) >= 6


def test_sample_images_are_what_the_code_makes():
    """resources/samples holds core.samples rendered by packaging/make_samples.py (pixels compared)."""
    import make_samples

    assert make_samples.main(["--check"]) == 0
    from convexplorer.core.samples import SAMPLES

    assert sorted(p.name for p in (RESOURCES / "samples").glob("*.png")) == sorted(make_samples.file_name(t) for t in SAMPLES)


# --- file types (.keras models, .cxw workspaces) ----------------------------------------------

_MIME_NS = "{http://www.freedesktop.org/standards/shared-mime-info}"
#: The types ConvExplorer registers: MIME type -> (glob, parent type).
_OUR_TYPES = {
    "application/x-keras": ("*.keras", "application/zip"),
    "application/x-convexplorer-workspace": ("*.cxw", "application/json"),
}


def mime_types(xml: bytes) -> dict[str, dict[str, list[str]]]:
    """The ``mime-type`` elements of a shared-mime-info XML: type -> {globs, parents, comments}."""
    import xml.etree.ElementTree as ET

    root = ET.fromstring(xml)
    assert root.tag == _MIME_NS + "mime-info", root.tag
    types = {}
    for element in root:
        assert element.tag == _MIME_NS + "mime-type", element.tag
        types[element.get("type")] = {
            "globs": [g.get("pattern") for g in element.findall(_MIME_NS + "glob")],
            "parents": [g.get("type") for g in element.findall(_MIME_NS + "sub-class-of")],
            "comments": [c.text for c in element.findall(_MIME_NS + "comment")],
        }
    return types


def test_mime_xml_declares_keras_models_and_workspaces():
    """resources/convexplorer-mime.xml declares both types with their globs and parents, and the
    desktop entry's MimeType lists them (with the image types), so a double-click opens them."""
    types = mime_types(MIME_XML.read_bytes())
    assert set(types) == set(_OUR_TYPES)
    for mime, (glob, parent) in _OUR_TYPES.items():
        assert types[mime]["globs"] == [glob] and types[mime]["parents"] == [parent] and types[mime]["comments"]
    entry = parse_desktop(DESKTOP.read_text(encoding="utf-8"))["Desktop Entry"]
    listed = [m for m in entry["MimeType"].split(";") if m]
    assert set(_OUR_TYPES) <= set(listed) and "image/png" in listed


def test_the_app_opens_the_suffixes_the_mime_types_claim():
    """The globs are suffixes the window routes: .keras to the model panels, .cxw to the workspace."""
    from convexplorer.ui import main_window as mw

    assert ".keras" in mw.MODEL_SUFFIXES and mw.WORKSPACE_SUFFIX == ".cxw"


def test_update_mime_database_accepts_the_xml(tmp_path):
    """shared-mime-info's own compiler reads the XML and maps both globs (and the parents)."""
    packages = tmp_path / "mime" / "packages"
    packages.mkdir(parents=True)
    shutil.copy2(MIME_XML, packages / "convexplorer.xml")
    out = subprocess.run(["update-mime-database", str(tmp_path / "mime")], capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr
    assert "Error" not in out.stderr and "Warning" not in out.stderr, out.stderr
    globs = (tmp_path / "mime" / "globs2").read_text().splitlines()
    subclasses = (tmp_path / "mime" / "subclasses").read_text().splitlines()
    for mime, (glob, parent) in _OUR_TYPES.items():
        assert f"50:{mime}:{glob}" in globs
        assert f"{mime} {parent}" in subclasses


# --- the Debian package (packaging/make_deb.sh on a fake build) --------------------------------

MAKE_DEB = PACKAGING / "make_deb.sh"


def readme_apt_packages() -> list[str]:
    """The packages of README's `sudo apt-get install ...` command (continuation lines joined)."""
    text = (ROOT / "README.md").read_text(encoding="utf-8").replace("\\\n", " ")
    match = re.search(r"sudo apt-get install ([^\n]+)", text)
    assert match, "README has no 'sudo apt-get install' line"
    return match.group(1).split()


def fake_build(folder: Path) -> Path:
    """A PyInstaller-like one-folder build: a shell-script executable, _internal/ with a library,
    a helper program and data, and the desktop files build.sh puts beside the executable."""
    dist = folder / "convexplorer"
    internal = dist / "_internal"
    internal.mkdir(parents=True)
    exe = dist / "convexplorer"
    exe.write_text("#!/bin/sh\necho fake ConvExplorer \"$@\"\n")
    exe.chmod(0o755)
    (internal / "base_library.zip").write_bytes(b"PK\x05\x06" + bytes(18))
    (internal / "base_library.zip").chmod(0o600)  # a private mode becomes 0644 in the package
    shutil.copy2("/bin/true", internal / "helper")  # an ELF program: stays executable
    shutil.copy2("/bin/true", internal / "libfake.so.1")  # a library: 0644
    (internal / "libfake.so.1").chmod(0o755)
    (internal / "libfake.so").symlink_to("libfake.so.1")
    (dist / "weights").mkdir()
    (dist / "weights" / "fake_weights.h5").write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(100))
    for name in ("convexplorer.desktop", "convexplorer.svg", "convexplorer-mime.xml"):
        shutil.copy2(RESOURCES / name, dist / name)
    shutil.copy2(PACKAGING / "install-desktop.sh", dist / "install-desktop.sh")
    shutil.copytree(ICONS / "hicolor", dist / "icons" / "hicolor")
    return dist


@pytest.fixture(scope="module")
def fake_deb(tmp_path_factory) -> Path:
    """make_deb.sh run on a fake build: the .deb it writes."""
    folder = tmp_path_factory.mktemp("deb")
    dist = fake_build(folder)
    env = dict(os.environ, SOURCE_DATE_EPOCH="1767225600")
    out = subprocess.run(["bash", str(MAKE_DEB), "--dist", str(dist), "--out", str(folder / "out")],
                         capture_output=True, text=True, env=env, timeout=120, check=False)
    assert out.returncode == 0, out.stdout + out.stderr
    (deb,) = (folder / "out").glob("*.deb")
    assert "deb size" in out.stdout and str(deb) in out.stdout
    return deb


def deb_field(deb: Path, field: str) -> str:
    return subprocess.run(["dpkg-deb", "-f", str(deb), field], capture_output=True, text=True, check=True).stdout.strip()


def deb_contents(deb: Path) -> dict[str, tuple[str, str, str]]:
    """``dpkg-deb -c``: path (without the leading ./) -> (mode string, owner/group, link target)."""
    listing = subprocess.run(["dpkg-deb", "-c", str(deb)], capture_output=True, text=True, check=True).stdout
    entries = {}
    for line in listing.splitlines():
        mode, owner, _size, _date, _time, rest = line.split(None, 5)
        path, _, target = rest.partition(" -> ")
        entries[path.removeprefix("./").rstrip("/")] = (mode, owner, target)
    return entries


@pytest.fixture(scope="module")
def deb_tree(fake_deb, tmp_path_factory) -> Path:
    """The fake package's files, unpacked with dpkg-deb -x."""
    tree = tmp_path_factory.mktemp("unpacked")
    subprocess.run(["dpkg-deb", "-x", str(fake_deb), str(tree)], check=True)
    return tree


def test_deb_name_and_control_fields(fake_deb):
    """Package, version (the app's, Debian revision 1), architecture, section, priority, maintainer, description."""
    from convexplorer import __version__

    arch = subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True, check=True).stdout.strip()
    assert fake_deb.name == f"convexplorer_{__version__}-1_{arch}.deb"
    assert deb_field(fake_deb, "Package") == "convexplorer"
    assert deb_field(fake_deb, "Version") == f"{__version__}-1"
    assert deb_field(fake_deb, "Architecture") == arch
    assert deb_field(fake_deb, "Section") in {"science", "education"}
    assert deb_field(fake_deb, "Priority") == "optional"
    assert re.fullmatch(r"[^<>]+ <[^@<>\s]+@[^@<>\s]+>", deb_field(fake_deb, "Maintainer"))
    assert int(deb_field(fake_deb, "Installed-Size")) > 0
    synopsis, *extended = deb_field(fake_deb, "Description").splitlines()
    assert 10 < len(synopsis) <= 80 and not synopsis.lower().startswith(("a ", "an ", "the ", "convexplorer"))
    assert len(extended) >= 5 and all(line.startswith(" ") for line in extended)
    # No maintainer scripts: dpkg's triggers (MIME, desktop, icons) do the database updates.
    info = subprocess.run(["dpkg-deb", "-I", str(fake_deb)], capture_output=True, text=True, check=True).stdout
    assert not re.search(r"\b(preinst|postinst|prerm|postrm|conffiles)\b", info), info


def test_deb_depends_on_readme_system_libraries(fake_deb):
    """Depends lists every library README's apt-get line lists (the two cannot drift), and libc6
    at the newest GLIBC version the bundle's ELF files ask for."""
    depends = [d.strip() for d in deb_field(fake_deb, "Depends").split(",")]
    names = [d.split()[0] for d in depends]
    readme = readme_apt_packages()
    assert len(readme) >= 20 and "libxcb-cursor0" in readme
    missing = [p for p in readme if p not in names]
    assert not missing, f"README lists {missing}, Depends does not"
    assert len(names) == len(set(names))
    libc = next(d for d in depends if d.startswith("libc6 "))
    assert re.fullmatch(r"libc6 \(>= 2\.\d+(\.\d+)?\)", libc), libc


def test_deb_file_list_layout_and_modes(fake_deb):
    """The build under /opt/convexplorer (without the per-user desktop files), the command, the menu
    entry, every icon, the MIME XML, the docs; root-owned, 0755 directories and programs, 0644 files."""
    entries = deb_contents(fake_deb)
    expected = {
        "opt/convexplorer/convexplorer", "opt/convexplorer/_internal/base_library.zip",
        "opt/convexplorer/_internal/helper", "opt/convexplorer/_internal/libfake.so.1",
        "opt/convexplorer/_internal/libfake.so", "opt/convexplorer/weights/fake_weights.h5",
        "usr/bin/convexplorer",
        "usr/share/applications/convexplorer.desktop",
        "usr/share/mime/packages/convexplorer.xml",
        "usr/share/icons/hicolor/scalable/apps/convexplorer.svg",
        "usr/share/man/man1/convexplorer.1.gz",
        "usr/share/doc/convexplorer/copyright",
        "usr/share/doc/convexplorer/changelog.Debian.gz",
        "usr/share/lintian/overrides/convexplorer",
    } | {f"usr/share/icons/hicolor/{s}x{s}/apps/convexplorer.png" for s in make_icons.PNG_SIZES}
    files = {p for p, (mode, _, _) in entries.items() if not mode.startswith("d")}
    assert files == expected, (sorted(files - expected), sorted(expected - files))
    # Only /opt/convexplorer and /usr: nothing in /etc (no conffiles), nothing in anyone's home.
    assert {p.split("/")[0] for p in entries if p} == {"opt", "usr"}
    programs = {"opt/convexplorer/convexplorer", "opt/convexplorer/_internal/helper", "usr/bin/convexplorer"}
    for path, (mode, owner, target) in entries.items():
        assert owner == "root/root", (path, owner)
        if mode.startswith("d"):
            assert mode == "drwxr-xr-x", (path, mode)
        elif mode.startswith("l"):
            assert path == "opt/convexplorer/_internal/libfake.so" and target == "libfake.so.1"
        elif path in programs:
            assert mode == "-rwxr-xr-x", (path, mode)
        else:
            assert mode == "-rw-r--r--", (path, mode)


def test_deb_command_runs_the_build_in_opt(deb_tree):
    """/usr/bin/convexplorer is a POSIX sh wrapper exec'ing /opt/convexplorer/convexplorer with the arguments."""
    wrapper = deb_tree / "usr" / "bin" / "convexplorer"
    text = wrapper.read_text()
    assert text.startswith("#!/bin/sh\n")
    assert 'exec /opt/convexplorer/convexplorer "$@"' in text.splitlines()
    subprocess.run(["sh", "-n", str(wrapper)], check=True)
    # Run the wrapper with /opt replaced by the unpacked tree: it passes the arguments through.
    local = deb_tree / "wrapper-local"
    local.write_text(text.replace("/opt/", f"{deb_tree}/opt/"))
    out = subprocess.run(["sh", str(local), "two words", "--self-test"], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "fake ConvExplorer two words --self-test"


def test_deb_desktop_entry_and_mime_types(deb_tree):
    """The installed menu entry starts the command with %F and claims both types, which the
    installed MIME XML declares; desktop-file-validate finds nothing to say."""
    desktop = deb_tree / "usr" / "share" / "applications" / "convexplorer.desktop"
    entry = parse_desktop(desktop.read_text(encoding="utf-8"))["Desktop Entry"]
    assert entry["Exec"] == "convexplorer %F" and entry["TryExec"] == "convexplorer" and entry["Icon"] == "convexplorer"
    listed = [m for m in entry["MimeType"].split(";") if m]
    assert set(_OUR_TYPES) <= set(listed) and "image/jpeg" in listed
    out = subprocess.run(["desktop-file-validate", str(desktop)], capture_output=True, text=True, check=False)
    assert out.returncode == 0 and not out.stdout.strip(), out.stdout
    xml = (deb_tree / "usr" / "share" / "mime" / "packages" / "convexplorer.xml").read_bytes()
    assert xml == MIME_XML.read_bytes()
    types = mime_types(xml)
    assert {m: t["globs"] for m, t in types.items()} == {m: [g] for m, (g, _) in _OUR_TYPES.items()}
    svg = deb_tree / "usr" / "share" / "icons" / "hicolor" / "scalable" / "apps" / "convexplorer.svg"
    assert svg.read_bytes() == (RESOURCES / "convexplorer.svg").read_bytes()


def test_deb_docs(deb_tree, fake_deb):
    """A machine-readable copyright file (MIT, i.e. Expat, with its text), a Debian changelog
    compressed with gzip -9n whose version is the package's, a man page, the lintian overrides."""
    import gzip

    doc = deb_tree / "usr" / "share" / "doc" / "convexplorer"
    copyright_text = (doc / "copyright").read_text()
    assert copyright_text.startswith("Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n")
    assert "\nFiles: *\n" in copyright_text and "\nLicense: Expat\n Permission is hereby granted" in copyright_text
    assert "MIT" in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["license"]["text"]
    raw = (doc / "changelog.Debian.gz").read_bytes()
    assert raw[:2] == b"\x1f\x8b" and raw[4:8] == bytes(4), "gzip -n: no name, no time stamp"
    assert raw[8] == 2, "gzip -9: maximum compression flag"
    changelog = gzip.decompress(raw).decode()
    version = deb_field(fake_deb, "Version")
    assert changelog.startswith(f"convexplorer ({version}) unstable; urgency=medium\n")
    assert re.search(r"^ -- [^<]+ <[^>]+>  \w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d \+0000$", changelog, re.MULTILINE), changelog
    man = gzip.decompress((deb_tree / "usr" / "share" / "man" / "man1" / "convexplorer.1.gz").read_bytes()).decode()
    assert man.startswith(".TH CONVEXPLORER 1") and "@VERSION@" not in man and "--self-test" in man.replace("\\-", "-")
    overrides = (deb_tree / "usr" / "share" / "lintian" / "overrides" / "convexplorer").read_text()
    tags = [line for line in overrides.splitlines() if line and not line.startswith("#")]
    assert tags and all(line.startswith("convexplorer: ") for line in tags)
    # Every override is explained by a comment right above it (or above its group).
    blocks = overrides.strip().split("\n\n")[1:]
    assert blocks and all(b.startswith("#") for b in blocks), blocks


def test_deb_md5sums_cover_every_file(fake_deb, deb_tree):
    """DEBIAN/md5sums lists every regular file of the package with its checksum (debsums)."""
    import hashlib
    import tarfile

    control = subprocess.run(["dpkg-deb", "--ctrl-tarfile", str(fake_deb)], capture_output=True, check=True).stdout
    with tarfile.open(fileobj=__import__("io").BytesIO(control)) as tar:
        md5sums = tar.extractfile("./md5sums").read().decode()
    sums = dict(reversed(line.split("  ", 1)) for line in md5sums.splitlines())
    files = {p for p, (mode, _, _) in deb_contents(fake_deb).items() if mode.startswith("-")}
    assert set(sums) == files
    for path, digest in sums.items():
        assert hashlib.md5((deb_tree / path).read_bytes()).hexdigest() == digest, path


def test_lintian_reports_no_errors(fake_deb):
    """lintian (Debian's package checker) finds no error in the package: the tags a bundle in /opt
    raises are overridden, each with its reason, in usr/share/lintian/overrides/convexplorer."""
    out = subprocess.run(["lintian", "--fail-on", "error", "--no-tag-display-limit", str(fake_deb)],
                         capture_output=True, text=True, timeout=300, check=False)
    assert out.returncode == 0, out.stdout + out.stderr
    assert not re.search(r"^E: ", out.stdout, re.MULTILINE), out.stdout


def test_make_deb_removes_the_build_machines_library_paths(tmp_path):
    """RUNPATH entries naming the build machine's folders (pyenv's prefix in CPython's modules, a
    wheel's build tree) are removed, $ORIGIN-relative ones kept (lintian: custom-library-search-path)."""
    dist = fake_build(tmp_path / "b")
    paths = {"libabs.so.1": "/root/.pyenv/versions/3.11.7/lib", "libmix.so.1": "/build/x:$ORIGIN/../lib:$ORIGIN",
             "libok.so.1": "$ORIGIN/../shiboken6"}
    for name, rpath in paths.items():
        shutil.copy2("/bin/true", dist / "_internal" / name)
        subprocess.run(["patchelf", "--set-rpath", rpath, str(dist / "_internal" / name)], check=True)
    out = subprocess.run(["bash", str(MAKE_DEB), "--dist", str(dist), "--out", str(tmp_path / "o"), "--compress", "gzip"],
                         capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr
    assert "library search paths from 2 files" in out.stdout
    (deb,) = (tmp_path / "o").glob("*.deb")
    subprocess.run(["dpkg-deb", "-x", str(deb), str(tmp_path / "x")], check=True)
    internal = tmp_path / "x" / "opt" / "convexplorer" / "_internal"
    got = {name: subprocess.run(["patchelf", "--print-rpath", str(internal / name)], capture_output=True, text=True,
                                check=True).stdout.strip() for name in paths}
    assert got == {"libabs.so.1": "", "libmix.so.1": "$ORIGIN/../lib:$ORIGIN", "libok.so.1": "$ORIGIN/../shiboken6"}
    # The build itself is left as it was.
    assert subprocess.run(["patchelf", "--print-rpath", str(dist / "_internal" / "libabs.so.1")], capture_output=True,
                          text=True, check=False).stdout.strip() == paths["libabs.so.1"]


def test_make_deb_options_and_refusals(tmp_path):
    """--version and --revision name the package; a folder that is not a build is refused with a message."""
    dist = fake_build(tmp_path / "b")
    out = subprocess.run(["bash", str(MAKE_DEB), "--dist", str(dist), "--out", str(tmp_path / "o"), "--version", "2.0.0",
                          "--revision", "3", "--arch", "all", "--compress", "gzip"], capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr
    deb = tmp_path / "o" / "convexplorer_2.0.0-3_all.deb"
    assert deb.is_file() and deb_field(deb, "Version") == "2.0.0-3"
    (tmp_path / "empty").mkdir()
    out = subprocess.run(["bash", str(MAKE_DEB), "--dist", str(tmp_path / "empty"), "--out", str(tmp_path / "o2")],
                         capture_output=True, text=True, check=False)
    assert out.returncode != 0 and "is not a PyInstaller build" in out.stderr
    assert not (tmp_path / "o2").exists() or not list((tmp_path / "o2").iterdir())
    out = subprocess.run(["bash", str(MAKE_DEB), "--bogus"], capture_output=True, text=True, check=False)
    assert out.returncode == 2 and "unknown option" in out.stderr


def test_build_script_offers_weights_and_deb():
    """build.sh runs add_weights.py for --with-weights and make_deb.sh for --deb; test_deb.sh parses."""
    text = (PACKAGING / "build.sh").read_text(encoding="utf-8")
    assert "--with-weights)" in text and "packaging/add_weights.py" in text
    assert "--deb)" in text and "packaging/make_deb.sh" in text
    for script in ("make_deb.sh", "test_deb.sh"):
        subprocess.run(["bash", "-n", str(PACKAGING / script)], check=True)
        assert os.access(PACKAGING / script, os.X_OK), script
    usage = subprocess.run(["bash", str(PACKAGING / "test_deb.sh")], capture_output=True, text=True, check=False)
    assert usage.returncode == 2 and "usage" in usage.stderr


# --- weights carried by the build (packaging/add_weights.py) ----------------------------------

ADD_WEIGHTS = PACKAGING / "add_weights.py"
KERAS_NAME = "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224.h5"


def _weights_file(path: Path) -> Path:
    """A small real HDF5 weights file (h5py, as Keras writes them)."""
    import h5py

    with h5py.File(path, "w") as f:
        f.create_dataset("conv/kernel", data=np.arange(27, dtype="float32").reshape(3, 3, 3, 1))
    return path


def _run_add_weights(src: Path, dist: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ADD_WEIGHTS), str(src), str(dist)], capture_output=True, text=True, timeout=60, check=False)


def test_add_weights_copies_weights_and_class_index(tmp_path):
    """Every HDF5 .h5 and the ImageNet class index go to DIST/weights (the folder the frozen app reads,
    next to its executable); other files are listed as skipped; the total size is printed."""
    src = tmp_path / "models"
    src.mkdir()
    _weights_file(src / KERAS_NAME)
    (src / "imagenet_class_index.json").write_text('{"0": ["n01440764", "tench"], "1": ["n01443537", "goldfish"]}')
    (src / "notes.txt").write_text("not weights")
    dist = fake_build(tmp_path / "b")
    shutil.rmtree(dist / "weights")
    out = _run_add_weights(src, dist)
    assert out.returncode == 0, out.stderr
    copied = sorted(p.name for p in (dist / "weights").iterdir())
    assert copied == sorted([KERAS_NAME, "imagenet_class_index.json"])
    assert (dist / "weights" / KERAS_NAME).read_bytes() == (src / KERAS_NAME).read_bytes()
    assert KERAS_NAME in out.stdout and "skipped notes.txt" in out.stdout
    assert re.search(r"copied 2 file\(s\), [\d.]+ MiB", out.stdout), out.stdout


def test_add_weights_refuses_a_file_that_is_not_hdf5(tmp_path):
    """An .h5 that is not HDF5 (a download error page, a truncated file) is refused: exit 2, a message
    naming it, nothing copied. So is a folder without weights and a DIST that is not a build."""
    src = tmp_path / "models"
    src.mkdir()
    _weights_file(src / "resnet50_weights_tf_dim_ordering_tf_kernels.h5")
    (src / KERAS_NAME).write_text("<html>404 Not Found</html>")
    dist = fake_build(tmp_path / "b")
    shutil.rmtree(dist / "weights")
    out = _run_add_weights(src, dist)
    assert out.returncode == 2
    assert KERAS_NAME in out.stderr and "not an HDF5" in out.stderr and "nothing copied" in out.stderr
    assert not (dist / "weights").exists()
    empty = tmp_path / "empty"
    empty.mkdir()
    out = _run_add_weights(empty, dist)
    assert out.returncode == 2 and "no .h5 weights files" in out.stderr
    out = _run_add_weights(src, tmp_path)
    assert out.returncode == 2 and "not a PyInstaller build" in out.stderr
    (src / KERAS_NAME).unlink()
    (src / "imagenet_class_index.json").write_text("[1, 2]")
    out = _run_add_weights(src, dist)
    assert out.returncode == 2 and "class index" in out.stderr
