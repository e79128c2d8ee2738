#!/usr/bin/env bash
# Build the standalone ConvExplorer and check it:
#   dist/convexplorer/                                  one-folder build, run dist/convexplorer/convexplorer
#   dist/convexplorer-<version>-linux-x86_64.tar.gz     the release archive of that folder
#
#   packaging/build.sh                  pip install ".[packaging]" into the current Python, then build
#   packaging/build.sh --venv DIR       make a fresh virtual environment DIR and build from it
#   packaging/build.sh --no-install     build with what is installed already
#   packaging/build.sh --baseline       build without exclusions and stripping into build/baseline-dist/
#                                       (to measure what they save)
#   packaging/build.sh --with-weights DIR
#                                       copy the Keras weights (*.h5, imagenet_class_index.json) of DIR
#                                       into dist/convexplorer/weights/ (packaging/add_weights.py checks
#                                       them), so that an offline machine classifies out of the box
#   packaging/build.sh --deb            then make the Debian package dist/convexplorer_<version>-1_<arch>.deb
#                                       (packaging/make_deb.sh)
#   packaging/build.sh --tensorflow PKG install PKG (e.g. tensorflow==2.21.0) in place of tensorflow-cpu
#                                       before building (to compare the two; the release uses tensorflow-cpu)
#
# After building it runs the frozen `convexplorer --self-test` and `--screenshot` (offscreen) and
# fails (exit 1, no archive, no package) when either fails. It prints build time, folder, archive
# and package sizes. Options combine: packaging/build.sh --venv .venv-build --with-weights ~/.keras/models --deb
set -euo pipefail
cd "$(dirname "$0")/.."

PY="${PYTHON:-python3}"
OUT="dist"
VENV=""
INSTALL=1
WEIGHTS=""
MAKE_DEB=0
TENSORFLOW=""
while [ $# -gt 0 ]; do
    case "$1" in
        --venv) VENV="$2"; shift 2 ;;
        --no-install) INSTALL=0; shift ;;
        --with-weights) WEIGHTS="$2"; shift 2 ;;
        --deb) MAKE_DEB=1; shift ;;
        --tensorflow) TENSORFLOW="$2"; shift 2 ;;
        --baseline) export CONVEXPLORER_BASELINE=1; OUT="build/baseline-dist"; shift ;;
        -h|--help) sed -n '2,/^set/{/^#/p}' "$0"; exit 0 ;;
        *) echo "unknown option: $1 (see --help)" >&2; exit 2 ;;
    esac
done

if [ -n "$VENV" ]; then
    [ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
    PY="$VENV/bin/python"
fi
if [ "$INSTALL" = 1 ]; then
    "$PY" -m pip install --quiet ".[packaging]"
fi
if [ -n "$TENSORFLOW" ]; then
    # tensorflow and tensorflow-cpu install the same files (the `tensorflow` package): remove the
    # other one, then reinstall PKG's files over what the removal deleted.
    tf_name=$(printf '%s' "$TENSORFLOW" | sed 's/[<>=!~;[ ].*//')
    swapped=0
    for other in tensorflow tensorflow-cpu; do
        if [ "$other" != "$tf_name" ] && "$PY" -m pip show --quiet "$other" >/dev/null 2>&1; then
            "$PY" -m pip uninstall --quiet --yes "$other"
            swapped=1
        fi
    done
    [ "$swapped" = 0 ] || "$PY" -m pip install --quiet --force-reinstall --no-deps "$TENSORFLOW"
    "$PY" -m pip install --quiet "$TENSORFLOW"
    "$PY" -m pip list 2>/dev/null | grep -i '^tensorflow' || true
fi
if [ -n "$WEIGHTS" ] && [ ! -d "$WEIGHTS" ]; then
    echo "--with-weights: $WEIGHTS is not a folder" >&2
    exit 2
fi

# Qt's xcb platform plugin (used on a real X11 desktop) needs libxcb-cursor0.
if command -v dpkg-query >/dev/null 2>&1 && ! dpkg-query -W -f='${Status}' libxcb-cursor0 2>/dev/null | grep -q "install ok installed"; then
    echo "note: libxcb-cursor0 is not installed: the build runs offscreen, but the app needs it on an X11 desktop" >&2
fi

VERSION=$("$PY" -c "import sys; sys.path.insert(0, '.'); from convexplorer import __version__; print(__version__)")
ARCH=$(uname -m)
NAME="convexplorer-$VERSION-linux-$ARCH"
DIST="$OUT/convexplorer"
ARCHIVE="$OUT/$NAME.tar.gz"

"$PY" packaging/make_icons.py

start=$(date +%s.%N)
"$PY" -m PyInstaller --noconfirm --log-level WARN \
    --distpath "$OUT" --workpath "build/pyinstaller${CONVEXPLORER_BASELINE:+-baseline}" packaging/convexplorer.spec
build_s=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.0f", b - a }')

if [ -n "$WEIGHTS" ]; then
    echo "--- weights from $WEIGHTS"
    "$PY" packaging/add_weights.py "$WEIGHTS" "$DIST" || { echo "FAILED: no weights copied (see above)" >&2; exit 2; }
fi

check_home=$(mktemp -d)
trap 'rm -rf "$check_home"' EXIT
export CONVEXPLORER_HOME="$check_home/home" XDG_CONFIG_HOME="$check_home/config" QT_QPA_PLATFORM=offscreen
status=0
echo "--- frozen self-test"
if ! "$DIST/convexplorer" --self-test; then
    echo "FAILED: frozen self-test" >&2
    status=1
fi
echo "--- frozen screenshots"
shots="build/frozen-screenshots"
rm -rf "$shots"
if "$DIST/convexplorer" --screenshot "$shots" >/dev/null && ls "$shots"/*.png >/dev/null 2>&1; then
    echo "$(ls "$shots"/*.png | wc -l) screenshots in $shots"
else
    echo "FAILED: frozen --screenshot" >&2
    status=1
fi

archive_bytes=0
if [ "$status" = 0 ]; then
    rm -f "$ARCHIVE"
    # The archive unpacks to a folder named after the release, holding the executable.
    if command -v pigz >/dev/null 2>&1; then gz="pigz -6"; else gz="gzip -6"; fi
    tar -C "$OUT" --transform "s|^convexplorer|$NAME|" -cf - convexplorer | $gz > "$ARCHIVE"
    archive_bytes=$(stat -c %s "$ARCHIVE")
fi

folder_bytes=$(du -sb "$DIST" | cut -f1)
mb() { awk -v n="$1" 'BEGIN { printf "%.1f", n / 1048576 }'; }
echo "--- summary${CONVEXPLORER_BASELINE:+ (baseline: no exclusions, no strip)}"
echo "build time   : $build_s s"
echo "folder size  : $(mb "$folder_bytes") MiB  ($DIST)"
if [ "$status" = 0 ]; then
    echo "archive size : $(mb "$archive_bytes") MiB  ($ARCHIVE)"
    if [ "$MAKE_DEB" = 1 ]; then
        echo "--- Debian package"
        packaging/make_deb.sh --dist "$DIST" --out "$OUT" || { echo "FAILED: make_deb.sh" >&2; exit 1; }
    fi
    echo "OK"
else
    echo "no archive: the frozen app failed its checks"
fi
exit $status
