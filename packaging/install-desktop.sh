#!/bin/sh
# Add ConvExplorer to the desktop's application menu (per user, no root needed).
#
#   ./install-desktop.sh              install the menu entry, icons and file types into ~/.local/share
#   ./install-desktop.sh --uninstall  remove them again
#
# The file types (.keras models, .cxw workspaces) go to ~/.local/share/mime/packages, so that a
# double-click on such a file opens it in ConvExplorer.
#
# Run it from the unpacked release folder (it points the menu entry at the convexplorer
# executable beside it) or from a source checkout after `pip install .` (it points the entry at
# the `convexplorer` command on PATH).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
data="${XDG_DATA_HOME:-$HOME/.local/share}"
apps="$data/applications"
icons="$data/icons/hicolor"
mime="$data/mime"
desktop_id="convexplorer.desktop"

if [ -f "$here/convexplorer.desktop" ] && [ -d "$here/icons/hicolor" ]; then
    src_desktop="$here/convexplorer.desktop"       # release folder
    src_icons="$here/icons/hicolor"
    src_svg="$here/convexplorer.svg"
    src_mime="$here/convexplorer-mime.xml"
else
    src_desktop="$here/../resources/convexplorer.desktop"   # source checkout: packaging/
    src_icons="$here/../resources/icons/hicolor"
    src_svg="$here/../resources/convexplorer.svg"
    src_mime="$here/../resources/convexplorer-mime.xml"
fi

refresh() {
    command -v update-desktop-database >/dev/null 2>&1 && update-desktop-database -q "$apps" || true
    command -v gtk-update-icon-cache >/dev/null 2>&1 && gtk-update-icon-cache -q -t "$icons" || true
    if [ -d "$mime/packages" ] && command -v update-mime-database >/dev/null 2>&1; then
        update-mime-database "$mime" >/dev/null 2>&1 || true
    fi
}

if [ "${1:-}" = "--uninstall" ]; then
    rm -f "$apps/$desktop_id" "$icons/scalable/apps/convexplorer.svg" "$mime/packages/convexplorer.xml"
    for f in "$icons"/*/apps/convexplorer.png; do
        [ -e "$f" ] && rm -f "$f"
    done
    refresh
    echo "ConvExplorer removed from the application menu."
    exit 0
fi

if [ -x "$here/convexplorer" ]; then
    exe="$here/convexplorer"
elif command -v convexplorer >/dev/null 2>&1; then
    exe=$(command -v convexplorer)
else
    echo "error: no convexplorer executable beside this script and none on PATH" >&2
    echo "       (run it from the unpacked release folder, or pip install . first)" >&2
    exit 1
fi

mkdir -p "$apps" "$icons/scalable/apps" "$mime/packages"
for dir in "$src_icons"/*/apps; do
    size=$(basename "$(dirname "$dir")")
    mkdir -p "$icons/$size/apps"
    cp "$dir/convexplorer.png" "$icons/$size/apps/convexplorer.png"
done
cp "$src_svg" "$icons/scalable/apps/convexplorer.svg"
cp "$src_mime" "$mime/packages/convexplorer.xml"
chmod 644 "$mime/packages/convexplorer.xml"
# Point Exec/TryExec at the absolute path (paths with spaces are quoted, as the spec asks).
sed -e "s|^Exec=convexplorer|Exec=\"$exe\"|" -e "s|^TryExec=.*|TryExec=$exe|" \
    "$src_desktop" > "$apps/$desktop_id"
chmod 644 "$apps/$desktop_id"
refresh
echo "ConvExplorer added to the application menu: $apps/$desktop_id"
