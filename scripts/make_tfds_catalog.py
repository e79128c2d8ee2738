"""Write ``resources/tfds_catalog.json``: the image-classification data sets of TensorFlow Datasets, offline.

tfds knows each set's features (class names, image shape), description,
citation, homepage and download files (``checksums.tsv``) from its own code, but
the number of images in each split is only known once a set is prepared, or
from the ``dataset_info.json`` files Google publishes. This script reads the
code of the installed tfds and takes split sizes from, in order:

1. ``--metadata DIR``: a folder laid out as ``DIR/<name>/[<config>/]<version>/dataset_info.json``
   (``tensorflow_datasets/testing/metadata`` of a tensorflow/datasets checkout), then
2. ``https://storage.googleapis.com/tfds-data/dataset_info/...`` when ``--online`` is given, then
3. ``--sizes FILE`` (default ``scripts/tfds_split_sizes.json``): figures extracted from those
   published files (examples per split, download and dataset sizes), one line a set, with the
   version and commit each came from.

Sets without split sizes are kept, their image counts unknown (the app says
so). Run it after upgrading tfds::

    python3 scripts/make_tfds_catalog.py                      # figures from scripts/tfds_split_sizes.json
    python3 scripts/make_tfds_catalog.py --metadata ~/src/datasets/tensorflow_datasets/testing/metadata

The app never runs this: it reads the JSON it writes.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import sys
import tempfile
import urllib.request
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parents[1] / "resources" / "tfds_catalog.json"
SIZES = Path(__file__).resolve().parent / "tfds_split_sizes.json"
GCS_INFO = "https://storage.googleapis.com/tfds-data/dataset_info/{path}/dataset_info.json"
#: Sets named in the course material: listed first, in this order.
FEATURED = ("tf_flowers", "cats_vs_dogs", "svhn_cropped", "cifar100", "rock_paper_scissors", "oxford_iiit_pet",
            "eurosat", "food101", "beans", "mnist", "fashion_mnist", "cifar10")


def _split_info(name: str, config: str | None, version: str, metadata: Path | None, online: bool) -> dict | None:
    """The published dataset_info.json of one set (None when neither source has it)."""
    rel = "/".join(p for p in (name, config, version) if p)
    if metadata is not None:
        path = metadata / rel / "dataset_info.json"
        if path.is_file():
            return json.loads(path.read_text())
    if online:
        try:
            with urllib.request.urlopen(GCS_INFO.format(path=rel), timeout=20) as fh:
                return json.loads(fh.read())
        except OSError:
            return None
    return None


def load_sizes(path: Path | None) -> dict[str, dict]:
    """The ``sets`` of a sizes file (``{"name[/config]": {"version", "splits", ...}}``); empty when there is none."""
    if path is None or not path.is_file():
        return {}
    return dict(json.loads(path.read_text(encoding="utf-8")).get("sets", {}))


def _as_published(figures: dict) -> dict:
    """A sizes-file record in the shape of a dataset_info.json (splits with one shard each)."""
    info: dict[str, Any] = {"splits": [{"name": k, "shardLengths": [str(n)]} for k, n in figures["splits"].items()]}
    if figures.get("dataset_size") is not None:
        # numBytes is only known for the whole set here: put it on the first split so that the sum is right
        info["splits"][0]["numBytes"] = str(figures["dataset_size"])
    if figures.get("download_size"):
        info["downloadSize"] = str(figures["download_size"])
    return info


def _label_and_image(features: Any) -> tuple[str, str] | None:
    """(image key, label key) of a top-level Image and ClassLabel feature, or None."""
    import tensorflow_datasets as tfds

    if not isinstance(features, tfds.features.FeaturesDict):
        return None
    images = [k for k, f in features.items() if isinstance(f, tfds.features.Image)]
    labels = [k for k, f in features.items() if isinstance(f, tfds.features.ClassLabel)]
    if not images or not labels:
        return None
    image = "image" if "image" in images else images[0]
    label = "label" if "label" in labels else labels[0]
    return image, label


def _uses_beam(cls: type) -> bool:
    """Whether a builder's module builds with Apache Beam (its code calls ``beam.``)."""
    import inspect

    try:
        return "beam." in inspect.getsource(sys.modules[cls.__module__])
    except (OSError, TypeError, KeyError):
        return False


def describe_builder(name: str, data_dir: str, metadata: Path | None, online: bool,
                     sizes: dict[str, dict] | None = None) -> dict | None:
    """One catalog entry (a dict), or None when ``name`` is not an image-classification set."""
    import tensorflow_datasets as tfds

    try:
        builder = tfds.builder(name, data_dir=data_dir)
        info = builder.info
    except Exception as exc:  # noqa: BLE001 - a builder that cannot even describe itself is left out
        print(f"  skip {name}: {type(exc).__name__}: {str(exc)[:80]}", file=sys.stderr)
        return None
    keys = _label_and_image(info.features)
    if keys is None:
        return None
    image_key, label_key = keys
    image = info.features[image_key]
    label = info.features[label_key]
    config = builder.builder_config.name if builder.builder_config else None
    version = str(builder.version)
    try:
        url_infos = type(builder).url_infos or {}
    except Exception:  # noqa: BLE001 - some builders' checksum files need extra packages; size stays unknown
        url_infos = {}
    download_size = sum(int(u.size or 0) for u in url_infos.values()) or None
    published = _split_info(name, config, version, metadata, online)
    figures = (sizes or {}).get("/".join(p for p in (name, config) if p))
    if published is None and figures:
        published = _as_published(figures)
    splits: dict[str, int] = {}
    dataset_size = None
    if published:
        for s in published.get("splits", []):
            splits[s["name"]] = sum(int(n) for n in s.get("shardLengths", []))
        dataset_size = sum(int(s.get("numBytes", 0)) for s in published.get("splits", [])) or None
        if published.get("downloadSize"):  # per configuration (checksums.tsv lists every configuration's files)
            download_size = int(published["downloadSize"])
    names = list(label.names)
    shape = [None if v is None else int(v) for v in image.shape]
    manual = bool(getattr(builder, "MANUAL_DOWNLOAD_INSTRUCTIONS", None))
    beam = _uses_beam(type(builder))
    licence = ""
    try:
        licence = info.redistribution_info.license or ""
    except AttributeError:
        pass
    if not licence and published:
        licence = (published.get("redistributionInfo") or {}).get("license", "")
    homepage = info.homepage or ""
    return {
        "name": name,
        "config": config,
        "version": version,
        "title": name.replace("_", " "),
        "description": (info.description or "").strip(),
        "task": "classification",
        "image_key": image_key,
        "label_key": label_key,
        "num_classes": int(label.num_classes),
        "class_names": names if len(names) <= 2000 else [],
        "image_shape": shape,
        "splits": splits,
        "num_examples": sum(splits.values()) if splits else None,
        "download_size": download_size,
        "dataset_size": dataset_size,
        "licence": licence.strip(),
        "citation": (info.citation or "").strip(),
        "homepage": homepage,
        "manual_download": manual,
        "needs_beam": beam,
    }


def main(argv: list[str] | None = None) -> int:
    """Write the snapshot; print what was left without split sizes."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--metadata", type=Path, help="folder of published dataset_info.json files")
    parser.add_argument("--origin", default="", help="where the --metadata files came from (recorded in the snapshot)")
    parser.add_argument("--online", action="store_true", help="fetch missing split sizes from Google's bucket")
    parser.add_argument("--sizes", type=Path, default=SIZES,
                        help="figures extracted from the published files (used where --metadata/--online have none)")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--only", nargs="*", help="limit to these builders (for a quick look)")
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow_datasets as tfds

    names = args.only or tfds.list_builders(with_community_datasets=False)
    sizes = load_sizes(args.sizes)
    sizes_source = ""
    if sizes:
        sizes_source = json.loads(args.sizes.read_text(encoding="utf-8")).get("source", str(args.sizes))
    entries = []
    with tempfile.TemporaryDirectory() as data_dir:
        for name in names:
            entry = describe_builder(name, data_dir, args.metadata, args.online, sizes)
            if entry is not None:
                entries.append(entry)
    rank = {n: i for i, n in enumerate(FEATURED)}
    entries.sort(key=lambda e: (rank.get(e["name"], len(rank)), e["name"]))
    missing = [e["name"] for e in entries if e["num_examples"] is None]
    snapshot = {
        "generated": _dt.date.today().isoformat(),
        "tfds_version": tfds.__version__,
        "source": ("tfds builder code (features, description, citation, checksums.tsv)"
                   + (f"; split sizes from the published dataset_info.json files of {args.origin or args.metadata}"
                      if args.metadata else "")
                   + ("; split sizes from gs://tfds-data/dataset_info" if args.online else "")
                   + (f"; split sizes from {args.sizes.name}: figures of the published dataset_info.json files, "
                      f"{sizes_source}" if sizes else "")),
        "entries": entries,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(snapshot, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, args.out)
    print(f"wrote {len(entries)} entries to {args.out}")
    if missing:
        print(f"{len(missing)} without split sizes: {', '.join(missing)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
