#!/usr/bin/env bash
# Install a ConvExplorer .deb on this machine, check what it installed, then remove it again.
#
#   packaging/test_deb.sh dist/convexplorer_<version>-1_amd64.deb
#
# Needs root (or sudo) and apt: the package is installed with `apt-get install ./x.deb`, so its
# Depends come from the configured archive. Each step prints PASS, FAIL or SKIP; the exit status
# is 1 when a step failed. The app runs with a throw-away HOME, so the user's own settings and
# data are not touched. To check the file types with xdg-mime, xdg-utils and
# libfile-mimeinfo-perl are installed for the test when missing, and removed again at the end.
set -uo pipefail
if [ $# -ne 1 ] || [ ! -f "$1" ]; then
    echo "usage: $0 PATH.deb" >&2
    exit 2
fi
deb=$(readlink -f "$1")
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"
apt_get() { DEBIAN_FRONTEND=noninteractive $SUDO apt-get -y -q "$@"; }

work=$(mktemp -d)
home="$work/home"
mkdir -p "$home"
fails=0
added_tools=""
cleanup() {
    [ -z "$added_tools" ] || apt_get remove $added_tools >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

# step NAME COMMAND...: run it, print PASS or FAIL (with the end of its output).
step() {
    local name="$1" out
    shift
    if out=$("$@" 2>&1); then
        printf 'PASS  %s\n' "$name"
    else
        printf 'FAIL  %s\n' "$name"
        printf '%s\n' "$out" | tail -n 25 | sed 's/^/      /'
        fails=$((fails + 1))
    fi
}
skip() { printf 'SKIP  %s\n' "$1"; }
# The installed app, as a user would start it: from PATH, with its own HOME, outside any checkout.
app() { (cd "$work" && env -u XDG_CONFIG_HOME -u XDG_DATA_HOME -u XDG_STATE_HOME -u XDG_CACHE_HOME \
    -u CONVEXPLORER_HOME HOME="$home" "$@"); }

FILES="/opt/convexplorer /usr/bin/convexplorer /usr/share/applications/convexplorer.desktop \
/usr/share/mime/packages/convexplorer.xml /usr/share/icons/hicolor/48x48/apps/convexplorer.png \
/usr/share/icons/hicolor/scalable/apps/convexplorer.svg /usr/share/man/man1/convexplorer.1.gz \
/usr/share/doc/convexplorer/copyright"
all_gone() {
    local f left=""
    for f in $FILES; do [ -e "$f" ] || [ -L "$f" ] && left="$left $f"; done
    [ -z "$left" ] || { echo "still there:$left"; return 1; }
}
not_installed() {
    local s
    s=$(dpkg-query -W -f='${db:Status-Abbrev}' convexplorer 2>/dev/null || true)
    case "$s" in ""|un*|pn*) return 0 ;; *) echo "dpkg status: '$s'"; return 1 ;; esac
}
mime_registered() {  # the MIME trigger ran: the system database knows both globs
    grep -q '^[0-9]*:application/x-keras:\*\.keras$' /usr/share/mime/globs2 \
        && grep -q '^[0-9]*:application/x-convexplorer-workspace:\*\.cxw$' /usr/share/mime/globs2
}
mime_unregistered() { ! grep -q 'application/x-keras\|application/x-convexplorer-workspace' /usr/share/mime/globs2; }
desktop_registered() {  # the desktop-file-utils trigger ran: the entry handles both types
    grep -q '^application/x-convexplorer-workspace=.*convexplorer\.desktop' /usr/share/applications/mimeinfo.cache \
        && grep -q '^application/x-keras=.*convexplorer\.desktop' /usr/share/applications/mimeinfo.cache
}

echo "=== $(basename "$deb") ($(du -h "$deb" | cut -f1))"
if [ -e /opt/convexplorer ] && not_installed >/dev/null; then
    echo "FAIL  /opt/convexplorer exists but no convexplorer package owns it: move it away first"
    exit 1
fi

step "install: apt-get install $(basename "$deb")" apt_get install "$deb"
step "dpkg reports the package installed" sh -c "dpkg-query -W -f='\${Status} \${Version}\n' convexplorer | grep '^install ok installed'"
# The system PATH finds the package's command (the checks below run it by that path: a pip-installed
# convexplorer in /usr/local/bin or ~/.local/bin would come first on many PATHs).
step "command -v convexplorer is /usr/bin/convexplorer (system PATH)" \
    env PATH=/usr/sbin:/usr/bin:/sbin:/bin sh -c 'test "$(command -v convexplorer)" = /usr/bin/convexplorer'
first=$(command -v convexplorer || true)
[ "$first" = /usr/bin/convexplorer ] || echo "      note: your PATH finds $first first; the checks run /usr/bin/convexplorer"
EXE=/usr/bin/convexplorer
step "convexplorer --version" sh -c "$EXE --version | grep '^ConvExplorer '"
step "convexplorer --self-test (offscreen)" app env QT_QPA_PLATFORM=offscreen "$EXE" --self-test
if command -v xvfb-run >/dev/null 2>&1; then
    xcb_test() {
        local out
        out=$(app env QT_QPA_PLATFORM=xcb xvfb-run -a -s "-screen 0 1400x900x24" "$EXE" --self-test 2>&1) || { echo "$out"; return 1; }
        echo "$out" | grep -q "on Qt's xcb platform" || { echo "$out"; echo "(did not run on the xcb platform)"; return 1; }
    }
    step "convexplorer --self-test (Xvfb, QT_QPA_PLATFORM=xcb)" xcb_test
else
    skip "convexplorer --self-test on Xvfb (xvfb-run is not installed)"
fi
shots() {
    app env QT_QPA_PLATFORM=offscreen "$EXE" --screenshot "$work/shots" >/dev/null 2>&1 || return 1
    local n
    n=$(find "$work/shots" -name '*.png' | wc -l)
    echo "$n screenshots"
    [ "$n" -gt 0 ]
}
step "convexplorer --screenshot DIR writes PNGs" shots
echo "      $(find "$work/shots" -name '*.png' 2>/dev/null | wc -l) PNG files"
if command -v desktop-file-validate >/dev/null 2>&1; then
    step "desktop-file-validate /usr/share/applications/convexplorer.desktop" \
        sh -c 'out=$(desktop-file-validate /usr/share/applications/convexplorer.desktop 2>&1); echo "$out"; [ -z "$out" ]'
else
    skip "desktop-file-validate (desktop-file-utils is not installed)"
fi
# Files and folders (not symbolic links, whose mode is always 0777) are root's and writable by root only.
step "installed files are root's, 0755/0644" sh -c '! find /opt/convexplorer /usr/share/applications/convexplorer.desktop \
    /usr/share/mime/packages/convexplorer.xml ! -type l \( ! -user root -o ! -group root -o -perm /022 \) -print | grep .'
if [ -f /usr/share/mime/globs2 ]; then
    step "shared-mime-info's trigger registered *.keras and *.cxw" mime_registered
else
    skip "MIME database (shared-mime-info is not installed)"
fi
if [ -f /usr/share/applications/mimeinfo.cache ]; then
    step "desktop-file-utils' trigger: convexplorer.desktop opens both types" desktop_registered
else
    skip "mimeinfo.cache (desktop-file-utils is not installed)"
fi

# xdg-mime: what a desktop's file manager asks (install the tools for the check when missing).
for tool in xdg-mime:xdg-utils mimetype:libfile-mimeinfo-perl; do
    if ! command -v "${tool%%:*}" >/dev/null 2>&1; then
        apt_get install --no-install-recommends "${tool#*:}" >/dev/null 2>&1 && added_tools="$added_tools ${tool#*:}"
    fi
done
[ -z "$added_tools" ] || echo "      (installed for the check:$added_tools; removed at the end)"
if command -v xdg-mime >/dev/null 2>&1; then
    # A .keras file is a zip archive; a .cxw workspace is JSON.
    printf 'PK\005\006%018d' 0 | tr 0 '\0' > "$work/model.keras"
    printf '{"format_version": 2}\n' > "$work/work.cxw"
    filetype() {
        local got
        got=$(cd "$work" && xdg-mime query filetype "$1")
        echo "xdg-mime query filetype $1: $got"
        [ "$got" = "$2" ]
    }
    default_app() {
        local got
        got=$(cd "$work" && HOME="$home" xdg-mime query default "$1")
        echo "xdg-mime query default $1: $got"
        [ "$got" = convexplorer.desktop ]
    }
    step "xdg-mime: model.keras is application/x-keras" filetype model.keras application/x-keras
    step "xdg-mime: work.cxw is application/x-convexplorer-workspace" filetype work.cxw application/x-convexplorer-workspace
    step "xdg-mime: default for application/x-convexplorer-workspace is convexplorer.desktop" default_app application/x-convexplorer-workspace
    step "xdg-mime: default for application/x-keras is convexplorer.desktop" default_app application/x-keras
else
    skip "xdg-mime checks (xdg-utils is not installed and could not be installed)"
fi

# The user's own files: what the app writes, plus a saved run and settings of our own.
mkdir -p "$home/.local/share/ConvExplorer/runs" "$home/.config/ConvExplorer"
echo '{"note": "a run the user saved"}' > "$home/.local/share/ConvExplorer/runs/mine.json"
echo '[General]' > "$home/.config/ConvExplorer/ConvExplorer.conf"
user_files=$(cd "$home" && find . -type f | sort)
user_data_kept() {
    local now
    now=$(cd "$home" && find . -type f | sort)
    [ "$now" = "$user_files" ] || { echo "user files before:"; echo "$user_files"; echo "after:"; echo "$now"; return 1; }
    grep -q "a run the user saved" "$home/.local/share/ConvExplorer/runs/mine.json"
}

step "remove: apt-get remove convexplorer" apt_get remove convexplorer
step "after remove: /opt/convexplorer, the command, desktop entry, MIME XML, icons, docs are gone" all_gone
step "after remove: dpkg reports it not installed (no conffiles are left behind)" not_installed
[ -f /usr/share/mime/globs2 ] && step "after remove: the MIME database no longer knows .keras/.cxw" mime_unregistered
step "after remove: the user's data is still there ($(echo "$user_files" | wc -l) files)" user_data_kept
step "reinstall for purge" apt_get install "$deb"
step "purge: apt-get purge convexplorer" apt_get purge convexplorer
step "after purge: everything is gone" all_gone
step "after purge: dpkg reports it not installed" not_installed
step "after purge: the user's data is still there" user_data_kept

if [ "$fails" = 0 ]; then
    echo "=== PASS: all steps passed"
else
    echo "=== FAIL: $fails step(s) failed"
    exit 1
fi
