#!/usr/bin/env bash
# Make the Debian/Ubuntu package of the standalone ConvExplorer from the PyInstaller folder.
#
#   packaging/make_deb.sh        dist/convexplorer/  ->  dist/convexplorer_<version>-1_<arch>.deb
#
#   --dist DIR        the one-folder build to package (default dist/convexplorer; build.sh makes it)
#   --out DIR         where the .deb goes (default dist)
#   --version V       upstream version (default convexplorer.__version__)
#   --revision N      Debian revision (default 1): the package version is V-N
#   --arch A          Debian architecture (default: dpkg --print-architecture)
#   --compress C      dpkg-deb compression: xz (default), gzip, zstd or none
#
# The package installs
#   /opt/convexplorer/                      the build (executable, _internal/, weights/ if any)
#   /usr/bin/convexplorer                   a two-line wrapper that runs /opt/convexplorer/convexplorer
#   /usr/share/applications/convexplorer.desktop
#   /usr/share/icons/hicolor/*/apps/        the PNG icons and the SVG (scalable)
#   /usr/share/mime/packages/convexplorer.xml   .keras models and .cxw workspaces
#   /usr/share/man/man1/convexplorer.1.gz, /usr/share/doc/convexplorer/{copyright,changelog.Debian.gz}
#   /usr/share/lintian/overrides/convexplorer   tags a self-contained bundle in /opt raises, with reasons
# It has no maintainer scripts: the triggers of shared-mime-info, desktop-file-utils and
# hicolor-icon-theme update their caches, and dpkg removes every file it installed (nothing in
# the users' home folders is ever touched). Needs dpkg-deb and gzip, and patchelf when libraries of
# the build search folders of the build machine (RUNPATH), which it removes; no network.
# Set DEBFULLNAME and DEBEMAIL to name yourself as the maintainer.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DEB="$ROOT/packaging/deb"
RES="$ROOT/resources"

DIST="$ROOT/dist/convexplorer"
OUT="$ROOT/dist"
VERSION=""
REVISION=1
ARCH=""
COMPRESS="${DEB_COMPRESS:-xz}"
while [ $# -gt 0 ]; do
    case "$1" in
        --dist) DIST="$2"; shift 2 ;;
        --out) OUT="$2"; shift 2 ;;
        --version) VERSION="$2"; shift 2 ;;
        --revision) REVISION="$2"; shift 2 ;;
        --arch) ARCH="$2"; shift 2 ;;
        --compress) COMPRESS="$2"; shift 2 ;;
        -h|--help) sed -n '2,/^set/{/^#/p}' "$0"; exit 0 ;;
        *) echo "unknown option: $1 (see --help)" >&2; exit 2 ;;
    esac
done

die() { echo "make_deb.sh: $*" >&2; exit 1; }
command -v dpkg-deb >/dev/null 2>&1 || die "dpkg-deb not found (it is part of dpkg)"
[ -x "$DIST/convexplorer" ] && [ -d "$DIST/_internal" ] \
    || die "$DIST is not a PyInstaller build (no executable convexplorer and _internal/): run packaging/build.sh first"
if [ -z "$VERSION" ]; then
    VERSION=$(sed -n 's/^__version__ *= *["'"'"']\([^"'"'"']*\)["'"'"'].*/\1/p' "$ROOT/convexplorer/__init__.py")
    [ -n "$VERSION" ] || die "no __version__ in convexplorer/__init__.py"
fi
[ -n "$ARCH" ] || ARCH=$(dpkg --print-architecture)
PKGVER="$VERSION-$REVISION"
MAINTAINER="${DEBFULLNAME:-ConvExplorer maintainers} <${DEBEMAIL:-convexplorer@example.org}>"
# Dates from the last commit (or SOURCE_DATE_EPOCH), so that the same tree makes the same package.
EPOCH="${SOURCE_DATE_EPOCH:-$(git -C "$ROOT" log -1 --format=%ct 2>/dev/null || date +%s)}"

# The system libraries the bundle needs from the machine: README's apt-get list (Qt's EGL/GL,
# xkbcommon, fontconfig, D-Bus and a font; the xcb libraries for a real X11 display).
QT_DEPENDS="libegl1, libgl1, libxkbcommon0, libxkbcommon-x11-0, libfontconfig1, libfreetype6, libglib2.0-0, \
libdbus-1-3, fonts-dejavu-core, libx11-xcb1, libxcb1, libxcb-cursor0, libxcb-icccm4, libxcb-image0, \
libxcb-keysyms1, libxcb-randr0, libxcb-render0, libxcb-render-util0, libxcb-shape0, libxcb-shm0, \
libxcb-sync1, libxcb-util1, libxcb-xfixes0, libxcb-xkb1"
# Qt's Wayland platform plugin (bundled) links the system's libwayland-client, which PyInstaller
# never copies (it must match the compositor's); the check below lists what else the bundle links.
QT_DEPENDS="$QT_DEPENDS, libwayland-client0"

mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
DEBFILE="$OUT/convexplorer_${PKGVER}_${ARCH}.deb"
stage=$(mktemp -d "${TMPDIR:-/tmp}/convexplorer-deb.XXXXXX")
trap 'rm -rf "$stage"' EXIT
root="$stage/root"
umask 022

echo "--- staging $DIST as /opt/convexplorer"
mkdir -p "$root/opt" "$root/usr/bin" "$root/usr/share/applications" "$root/usr/share/mime/packages" \
    "$root/usr/share/doc/convexplorer" "$root/usr/share/lintian/overrides" "$root/usr/share/man/man1" \
    "$root/usr/share/icons/hicolor/scalable/apps" "$root/DEBIAN"
cp -a "$DIST" "$root/opt/convexplorer"
# The desktop files beside the executable serve the tar archive's per-user installer; the
# package installs them system-wide below, so the copies in /opt would only be dead weight.
rm -rf "$root/opt/convexplorer/icons"
rm -f "$root/opt/convexplorer/"{convexplorer.desktop,convexplorer-mime.xml,convexplorer.svg,install-desktop.sh}

# File modes: directories 0755, files 0644; executables 0755 (the app, and any other ELF program
# or script that was executable in the build), shared libraries 0644 as policy asks.
find "$root" -type d -exec chmod 0755 {} +
find "$root" -type f -exec chmod 0644 {} +
is_program() {  # an ELF executable (not a library) or a script
    case "$1" in *.so|*.so.*|*.py|*.pyc) return 1 ;; esac
    local magic
    magic=$(head -c 4 "$1" | od -An -c | tr -d ' \n')
    [ "$magic" = '177ELF' ] || [ "${magic:0:2}" = '#!' ]
}
(cd "$DIST" && find . -type f -perm -u+x -print0) | while IFS= read -r -d '' f; do
    target="$root/opt/convexplorer/$f"
    if [ -f "$target" ] && is_program "$target"; then chmod 0755 "$target"; fi
done
chmod 0755 "$root/opt/convexplorer/convexplorer"

# Library search paths (RPATH/RUNPATH) that name folders of the machine the libraries were built
# on (the Python prefix of the build machine for CPython's modules, a wheel's build tree) would
# make the app look there first on the user's machine: keep only the $ORIGIN-relative entries
# that point inside the bundle (patchelf rewrites them; nothing else in the files changes).
rpath_of() {
    if command -v patchelf >/dev/null 2>&1; then
        patchelf --print-rpath "$1" 2>/dev/null || true
    elif command -v readelf >/dev/null 2>&1; then
        readelf -d "$1" 2>/dev/null | sed -n 's/.*(R\(UN\)\{0,1\}PATH).*\[\(.*\)\]/\2/p' | head -1
    fi
}
command -v patchelf >/dev/null 2>&1 || command -v readelf >/dev/null 2>&1 \
    || echo "note: neither patchelf nor readelf is installed: library search paths are not checked" >&2
fixed_rpaths=0
while IFS= read -r -d '' lib; do
    [ "$(head -c 4 "$lib" | od -An -c | tr -d ' \n')" = '177ELF' ] || continue
    rpath=$(rpath_of "$lib")
    [ -n "$rpath" ] || continue
    kept=$(printf '%s' "$rpath" | tr ':' '\n' | grep -E '^\$(ORIGIN|\{ORIGIN\})' | paste -sd: - || true)
    [ "$kept" != "$rpath" ] || continue
    command -v patchelf >/dev/null 2>&1 \
        || die "${lib#"$root"/} searches $rpath: install patchelf (apt-get install patchelf) to remove the build machine's paths"
    if [ -z "$kept" ]; then patchelf --remove-rpath "$lib"; else patchelf --set-rpath "$kept" "$lib"; fi
    fixed_rpaths=$((fixed_rpaths + 1))
done < <(find "$root/opt" -type f \( -name '*.so*' -o -perm -u+x \) -print0)
[ "$fixed_rpaths" = 0 ] || echo "removed the build machine's library search paths from $fixed_rpaths files"

# The command on PATH. A wrapper, not a symlink: the frozen app finds its weights/ folder and
# its libraries next to sys.executable, which then is the real path in /opt.
cat > "$root/usr/bin/convexplorer" <<'EOF'
#!/bin/sh
# ConvExplorer: the self-contained build is in /opt/convexplorer.
exec /opt/convexplorer/convexplorer "$@"
EOF
chmod 0755 "$root/usr/bin/convexplorer"

echo "--- desktop entry, icons, MIME types, docs"
install -m 0644 "$RES/convexplorer.desktop" "$root/usr/share/applications/convexplorer.desktop"
install -m 0644 "$RES/convexplorer-mime.xml" "$root/usr/share/mime/packages/convexplorer.xml"
install -m 0644 "$RES/convexplorer.svg" "$root/usr/share/icons/hicolor/scalable/apps/convexplorer.svg"
for png in "$RES"/icons/hicolor/*/apps/convexplorer.png; do
    size=$(basename "$(dirname "$(dirname "$png")")")
    install -d -m 0755 "$root/usr/share/icons/hicolor/$size/apps"
    install -m 0644 "$png" "$root/usr/share/icons/hicolor/$size/apps/convexplorer.png"
done
install -m 0644 "$DEB/copyright" "$root/usr/share/doc/convexplorer/copyright"
install -m 0644 "$DEB/lintian-overrides" "$root/usr/share/lintian/overrides/convexplorer"
month_year=$(LC_ALL=C date -u -d "@$EPOCH" "+%B %Y")
sed -e "s/@VERSION@/$VERSION/g" -e "s/@DATE@/$month_year/g" "$DEB/convexplorer.1" \
    | gzip -9n > "$root/usr/share/man/man1/convexplorer.1.gz"
{
    echo "convexplorer ($PKGVER) unstable; urgency=medium"
    echo
    echo "  * Package the standalone (PyInstaller) build of ConvExplorer $VERSION."
    echo
    echo " -- $MAINTAINER  $(LC_ALL=C date -u -R -d "@$EPOCH")"
} | gzip -9n > "$root/usr/share/doc/convexplorer/changelog.Debian.gz"
chmod 0644 "$root/usr/share/man/man1/convexplorer.1.gz" "$root/usr/share/doc/convexplorer/changelog.Debian.gz"

# libc6: the newest GLIBC_x.y symbol version any program or library of the bundle asks for.
glibc=$(find "$root/opt" -type f \( -name '*.so*' -o -perm -u+x \) -print0 \
    | xargs -0 -r grep -aoh 'GLIBC_2\.[0-9][0-9.]*' 2>/dev/null | sed 's/^GLIBC_//; s/\.$//' | sort -uV | tail -1 || true)
DEPENDS="$QT_DEPENDS"
[ -z "$glibc" ] || DEPENDS="libc6 (>= $glibc), $DEPENDS"

# System libraries the bundle links but does not carry, which no Depends covers (a hint).
if command -v readelf >/dev/null 2>&1 && command -v dpkg-query >/dev/null 2>&1; then
    carried=$(find "$root/opt" \( -type f -o -type l \) -name '*.so*' -printf '%f\n' | sort -u)
    needed=$(find "$root/opt" -type f \( -name '*.so*' -o -perm -u+x \) -print0 \
        | xargs -0 -r readelf -d 2>/dev/null | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | sort -u || true)
    for soname in $(comm -23 <(echo "$needed") <(echo "$carried")); do
        path=$(ldconfig -p 2>/dev/null | awk -v s="$soname" '$1 == s { print $NF; exit }' || true)
        pkg=""
        for p in "$path" "$(readlink -f "$path" 2>/dev/null)" "/usr$path"; do
            [ -n "$path" ] && pkg=$(dpkg-query -S "$p" 2>/dev/null | head -1 | cut -d: -f1) && [ -n "$pkg" ] && break
        done
        case "$pkg" in libc6|"") continue ;; esac
        case ", $DEPENDS," in *", $pkg,"*|*", $pkg "*) ;; *) echo "note: the bundle links $soname ($pkg), which Depends does not list" >&2 ;; esac
    done
fi

installed_kb=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
cat > "$root/DEBIAN/control" <<EOF
Package: convexplorer
Version: $PKGVER
Architecture: $ARCH
Maintainer: $MAINTAINER
Installed-Size: $installed_kb
Depends: $DEPENDS
Section: science
Priority: optional
Description: see how convolutional neural networks work, and build your own
 ConvExplorer is a desktop application for learning how convolutional neural
 networks work, without writing code: slide kernels over your own images and
 watch each output pixel being computed, assemble a network from layers, train
 it on a data set and follow its curves live, then look inside a trained model
 (feature maps, filters, Grad-CAM, saliency) and compare models side by side.
 .
 It opens images, folders of images, Keras models (.keras) and its own
 workspaces (.cxw); both file types are registered with the desktop, so a
 double-click opens them in ConvExplorer.
 .
 This package is the self-contained build: its own Python, Qt (PySide6) and
 TensorFlow (CPU) are in /opt/convexplorer, so it needs no Python installed.
EOF
(cd "$root" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | LC_ALL=C sort -z | xargs -0 -r md5sum) \
    > "$root/DEBIAN/md5sums"   # what debsums checks the installed files against
chmod 0644 "$root/DEBIAN/control" "$root/DEBIAN/md5sums"
# No file newer than the last commit: the same build and tree make the same package.
find "$root" -newermt "@$EPOCH" -print0 | xargs -0 -r touch -h -d "@$EPOCH"

echo "--- dpkg-deb ($COMPRESS)"
rm -f "$DEBFILE"
dpkg-deb --root-owner-group -Z"$COMPRESS" --build "$root" "$DEBFILE" >/dev/null
bytes=$(stat -c %s "$DEBFILE")
echo "package      : $DEBFILE"
echo "installed    : $(awk -v n="$installed_kb" 'BEGIN { printf "%.1f", n / 1024 }') MiB"
echo "deb size     : $(awk -v n="$bytes" 'BEGIN { printf "%.1f", n / 1048576 }') MiB ($bytes bytes)"
