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


def _published_figures(published: dict) -> tuple[dict[str, int], int | None]:
    """Examples per split and the prepared size (bytes, None when not given) of a published dataset_info.json."""
    splits = {s["name"]: sum(int(n) for n in s.get("shardLengths", [])) for s in published.get("splits", [])}
    dataset_size = sum(int(s.get("numBytes", 0)) for s in published.get("splits", [])) or None
    return splits, dataset_size


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
        splits, dataset_size = _published_figures(published)
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


# --- detection and segmentation sets ---------------------------------------------------------------------
#: tfds sets listed for a task besides classification, and where their targets are. Detection: a Sequence
#: feature of objects with a BBoxFeature and a ClassLabel. Segmentation: a one-channel Image feature whose
#: stored values become classes (class k is stored as mask_values[k]; other values become void, 255).
TASK_SETS: tuple[dict[str, Any], ...] = (
    {"name": "voc", "config": "2007", "task": "detection",
     "objects_key": "objects", "bbox_key": "bbox", "object_label_key": "label"},
    {"name": "voc", "config": "2012", "task": "detection",
     "objects_key": "objects", "bbox_key": "bbox", "object_label_key": "label",
     "target_note": "its test split has no public annotations: those images are left out"},
    # tfds stores the Oxford trimaps as they come: 1 pet, 2 background, 3 border (not classified). Border stays
    # a class of its own, as in the TensorFlow segmentation tutorial, so a model learns three classes.
    {"name": "oxford_iiit_pet", "config": None, "task": "segmentation", "mask_key": "segmentation_mask",
     "class_names": ["background", "pet", "border"], "mask_values": [2, 1, 3],
     "target_note": "trimap: background (stored 2) is class 0, pet (1) class 1, border (3) class 2"},
)
#: Figures read from tensorflow/datasets' tensorflow_datasets/testing/metadata/<name>/<config>/<version>/
#: dataset_info.json (images per split from shardLengths, prepared bytes from numBytes), used when --metadata
#: does not hold the file.
TASK_SET_FIGURES: dict[str, dict[str, Any]] = {
    "voc/2007/5.0.0": {"splits": {"train": 2501, "validation": 2510, "test": 4952}, "dataset_size": 878_420_979},
    "voc/2012/5.0.0": {"splits": {"train": 5717, "validation": 5823, "test": 10991}, "dataset_size": 2_620_003_230},
    "oxford_iiit_pet/4.0.0": {"splits": {"train": 3680, "test": 3669}, "dataset_size": 811_262_658},
}


def _config_download_size(builder: Any) -> int | None:
    """Bytes to download for the builder's configuration, from its checksums.tsv (only the configuration's own
    files when the configuration names them, as VOC's do)."""
    try:
        url_infos = type(builder).url_infos or {}
    except Exception:  # noqa: BLE001 - some checksum files need extra packages
        return None
    files = getattr(builder.builder_config, "filenames", None) if builder.builder_config else None
    if isinstance(files, dict) and files:
        wanted = {str(f) for f in files.values()}
        url_infos = {u: i for u, i in url_infos.items() if str(u).rsplit("/", 1)[-1] in wanted}
    return sum(int(i.size or 0) for i in url_infos.values()) or None


def describe_task_set(spec: dict[str, Any], data_dir: str, metadata: Path | None, online: bool) -> dict | None:
    """One catalog entry of a detection or segmentation set of :data:`TASK_SETS`, from tfds' code (and split sizes
    from ``metadata``, Google's bucket or :data:`TASK_SET_FIGURES`); None when tfds' features do not fit ``spec``."""
    import tensorflow_datasets as tfds

    name, config, task = spec["name"], spec.get("config"), spec["task"]
    full = f"{name}/{config}" if config else name
    try:
        builder = tfds.builder(full, data_dir=data_dir)
        info = builder.info
    except Exception as exc:  # noqa: BLE001
        print(f"  skip {full} ({task}): {type(exc).__name__}: {str(exc)[:80]}", file=sys.stderr)
        return None
    features = info.features
    image = features["image"] if "image" in features else None
    if not isinstance(image, tfds.features.Image):
        print(f"  skip {full} ({task}): no image feature", file=sys.stderr)
        return None
    extra: dict[str, Any] = {}
    if task == "detection":
        objects = features[spec["objects_key"]] if spec["objects_key"] in features else None
        inner = getattr(objects, "feature", None)
        if (not isinstance(objects, tfds.features.Sequence) or not isinstance(inner, tfds.features.FeaturesDict)
                or not isinstance(inner[spec["bbox_key"]], tfds.features.BBoxFeature)
                or not isinstance(inner[spec["object_label_key"]], tfds.features.ClassLabel)):
            print(f"  skip {full}: {spec['objects_key']!r} is not a sequence of boxes and class labels",
                  file=sys.stderr)
            return None
        names = list(inner[spec["object_label_key"]].names)
        extra = {k: spec[k] for k in ("objects_key", "bbox_key", "object_label_key")}
    else:
        mask = features[spec["mask_key"]] if spec["mask_key"] in features else None
        if not isinstance(mask, tfds.features.Image) or mask.shape[-1] != 1:
            print(f"  skip {full}: {spec['mask_key']!r} is not a one-channel image", file=sys.stderr)
            return None
        names = list(spec["class_names"])
        extra = {"mask_key": spec["mask_key"], "mask_values": list(spec["mask_values"])}
    version = str(builder.version)
    published = _split_info(name, config, version, metadata, online)
    if published:
        splits, dataset_size = _published_figures(published)
    else:
        figures = TASK_SET_FIGURES.get("/".join(p for p in (name, config, version) if p), {})
        splits = dict(figures.get("splits", {}))
        dataset_size = figures.get("dataset_size")
    description = (info.description or "").strip()
    config_text = (getattr(builder.builder_config, "description", "") or "").strip() if builder.builder_config else ""
    if config_text:
        description = f"{config_text}\n\n{description}"
    licence = ""
    try:
        licence = info.redistribution_info.license or ""
    except AttributeError:
        pass
    return {
        "name": name,
        "config": config,
        "version": version,
        "title": f"{full.replace('_', ' ')} ({task})",
        "description": description,
        "task": task,
        "image_key": "image",
        "label_key": "",
        "num_classes": len(names),
        "class_names": names,
        "image_shape": [None if v is None else int(v) for v in image.shape],
        "splits": splits,
        "num_examples": sum(splits.values()) if splits else None,
        "download_size": _config_download_size(builder),
        "dataset_size": dataset_size,
        "licence": licence.strip(),
        "citation": (info.citation or "").strip(),
        "homepage": info.homepage or "",
        "manual_download": bool(getattr(builder, "MANUAL_DOWNLOAD_INSTRUCTIONS", None)),
        "needs_beam": _uses_beam(type(builder)),
        **extra,
        "target_note": spec.get("target_note", ""),
    }


def task_set_entries(data_dir: str, metadata: Path | None, online: bool, only: list[str] | None = None) -> list[dict]:
    """The entries of :data:`TASK_SETS` (those whose name is in ``only``, when given)."""
    out = []
    for spec in TASK_SETS:
        if only and spec["name"] not in only:
            continue
        entry = describe_task_set(spec, data_dir, metadata, online)
        if entry is not None:
            out.append(entry)
    return out


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
        entries += task_set_entries(data_dir, args.metadata, args.online, args.only)
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
