"""The shipped snapshot's figures: sums agree, the course sets have them, and known figures match.

Reads ``resources/tfds_catalog.json`` through the public listing and ``scripts/tfds_split_sizes.json`` as JSON;
needs neither TensorFlow nor tfds.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from convexplorer.core import datasets as D

ROOT = Path(__file__).resolve().parents[2]
SIZES = ROOT / "scripts" / "tfds_split_sizes.json"
COURSE_SETS = ("tf_flowers", "cats_vs_dogs", "svhn_cropped", "cifar100", "rock_paper_scissors", "oxford_iiit_pet",
               "eurosat", "food101", "beans", "mnist", "fashion_mnist", "cifar10")

# Split sizes as the data sets' own authors publish them (papers, home pages), not read from our files.
KNOWN = {
    "tf_flowers": {"train": 3670},
    "cifar100": {"train": 50000, "test": 10000},
    "cifar10": {"train": 50000, "test": 10000},
    "mnist": {"train": 60000, "test": 10000},
    "fashion_mnist": {"train": 60000, "test": 10000},
    "food101": {"train": 75750, "validation": 25250},
    "beans": {"train": 1034, "validation": 133, "test": 128},
    "eurosat": {"train": 27000},
    "rock_paper_scissors": {"train": 2520, "test": 372},
    "oxford_iiit_pet": {"train": 3680, "test": 3669},
    "svhn_cropped": {"train": 73257, "test": 26032, "extra": 531131},
    "cars196": {"train": 8144, "test": 8041},
    "caltech_birds2011": {"train": 5994, "test": 5794},
    "kmnist": {"train": 60000, "test": 10000},
    "malaria": {"train": 27558},
    "emnist": {"train": 697932, "test": 116323},
    "imagenet2012": {"train": 1281167, "validation": 50000, "test": 100000},
}


@pytest.fixture(scope="module")
def entries():
    return {e.name: e for e in D.catalog_entries()}


def test_every_entry_with_splits_adds_up(entries):
    with_splits = [e for e in entries.values() if e.splits]
    assert len(with_splits) >= 40
    for e in with_splits:
        assert e.num_examples == sum(e.splits.values()), e.name
        assert all(isinstance(n, int) and n > 0 for n in e.splits.values()), e.name
        assert e.dataset_size is None or e.dataset_size > 0, e.name
    for e in entries.values():
        if not e.splits:  # unknown stays unknown: no count without its splits
            assert e.num_examples is None, e.name


def test_the_course_sets_all_have_their_figures(entries):
    for name in COURSE_SETS:
        e = entries[name]
        assert e.splits and e.num_examples and e.download_size, name


@pytest.mark.parametrize("name", sorted(KNOWN))
def test_figures_match_what_the_authors_publish(entries, name):
    assert entries[name].splits == KNOWN[name]


def test_the_snapshot_agrees_with_the_sizes_file(entries):
    sets = json.loads(SIZES.read_text(encoding="utf-8"))["sets"]
    assert "tensorflow/datasets" in json.loads(SIZES.read_text(encoding="utf-8"))["source"]
    for key, fig in sets.items():
        name, _, config = key.partition("/")
        e = entries[name]
        assert (e.config or "") == config, key
        assert e.splits == fig["splits"], key
        assert e.dataset_size == fig["dataset_size"], key
        if fig["download_size"]:
            assert e.download_size == fig["download_size"], key
        assert fig["version"] and (fig["commit"] is None or len(fig["commit"]) == 40), key
