"""Copy Keras weights files into a frozen build, so that an offline machine classifies out of the box.

    python packaging/add_weights.py SRC_DIR DIST_FOLDER

Copies every ``*.h5`` file of SRC_DIR (named as Keras names them, e.g.
``mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224.h5``) and ``imagenet_class_index.json``
when present into ``DIST_FOLDER/weights/``: the frozen app looks for weights in
``Path(sys.executable).parent / "weights"``. packaging/build.sh runs this for ``--with-weights DIR``.

Each ``.h5`` must be an HDF5 file (its first bytes ``\\x89HDF\\r\\n\\x1a\\n``) and the class index
must be JSON; anything else in SRC_DIR is refused. On a refusal nothing is copied and the exit
status is 2, with a message saying which file and why.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
CLASS_INDEX = "imagenet_class_index.json"
WEIGHTS_DIR = "weights"


class Refused(Exception):
    """A file that must not go into the build, with the reason as the message."""


def is_hdf5(path: Path) -> bool:
    """Whether ``path`` starts with the HDF5 signature (files with a user block are not expected here)."""
    with path.open("rb") as f:
        return f.read(len(HDF5_MAGIC)) == HDF5_MAGIC


def check_class_index(path: Path) -> None:
    """The ImageNet class index: a JSON object mapping "0".."999" to [wnid, name] pairs."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise Refused(f"{path.name} is not a JSON file ({exc})") from None
    if not isinstance(data, dict) or not all(isinstance(v, list) and len(v) == 2 for v in data.values()):
        raise Refused(f"{path.name} is not Keras's ImageNet class index (expected {{\"0\": [wnid, name], ...}})")


def select(src: Path) -> tuple[list[Path], list[str]]:
    """The files of ``src`` to copy (after checking every one of them) and the names left out; raises Refused."""
    if not src.is_dir():
        raise Refused(f"{src} is not a folder")
    chosen: list[Path] = []
    skipped: list[str] = []
    for path in sorted(src.iterdir()):
        if path.name.lower().endswith(".h5"):
            if not path.is_file():
                raise Refused(f"{path.name} is not a regular file")
            if not is_hdf5(path):
                raise Refused(f"{path.name} is not an HDF5 weights file (it does not start with the HDF5 signature)")
            chosen.append(path)
        elif path.name == CLASS_INDEX:
            check_class_index(path)
            chosen.append(path)
        else:
            skipped.append(path.name)
    if not any(p.suffix.lower() == ".h5" for p in chosen):
        raise Refused(f"no .h5 weights files in {src}")
    return chosen, skipped


def add_weights(src: Path, dist: Path) -> tuple[list[Path], list[str]]:
    """Copy the weights of ``src`` into ``dist/weights``; returns the copies and the names left out. Raises Refused."""
    if not (dist / "_internal").is_dir():
        raise Refused(f"{dist} is not a PyInstaller build (no _internal/ folder): run packaging/build.sh first")
    files, skipped = select(src)
    target = dist / WEIGHTS_DIR
    target.mkdir(exist_ok=True)
    copies = []
    for path in files:
        copy = target / path.name
        shutil.copyfile(path, copy)
        copy.chmod(0o644)
        copies.append(copy)
    return copies, skipped


def _mib(n: int) -> str:
    return f"{n / 1048576:.1f} MiB"


def main(argv: list[str] | None = None) -> int:
    """Command line: SRC_DIR DIST_FOLDER; exit 0 when copied, 2 when refused."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2 or args[0] in {"-h", "--help"}:
        print("usage: " + __doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    src, dist = Path(args[0]), Path(args[1])
    try:
        copies, skipped = add_weights(src, dist)
    except Refused as exc:
        print(f"add_weights: refused: {exc}; nothing copied", file=sys.stderr)
        return 2
    for name in skipped:
        print(f"  skipped {name} (neither an .h5 weights file nor {CLASS_INDEX})")
    total = 0
    for copy in copies:
        size = copy.stat().st_size
        total += size
        print(f"  {copy.name}  {_mib(size)}")
    print(f"copied {len(copies)} file(s), {_mib(total)}, into {dist / WEIGHTS_DIR}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
