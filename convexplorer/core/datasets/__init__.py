"""Data sets: the Dataset interface, the offline shapes sets, image folders, annotated images, standard downloads, the tfds catalog, augmentation.

Nothing here imports TensorFlow at module level: ``to_tf_dataset`` and the
augmentation builders import it when called.
"""

from .annotations import VOC_CLASSES, VOID, AnnotatedDataset, load_coco, load_voc, scan_mask_folder
from .augmentation import FILL_MODES, AugmentationSpec, augment_preview, augmentation_layers, build_augmentation
from .base import SUBSETS, ArrayDataset, Dataset, SplitSpec, convert_channels
from .catalog import (
    CatalogDataset, CatalogEntry, CatalogTaskDataset, catalog_entries, is_prepared, open_catalog_dataset, tfds_data_dir,
)
from .folder import FolderDataset, Skipped, check_image_file, display_name, scan_folder
from .shapes import SHAPE_CLASSES, ShapeScenes, ShapesDataset, ShapesDetectionDataset, ShapesSegmentationDataset
from .standard import STANDARD_SETS, RemoteFile, StandardSet, cache_dir, fetch_files, is_cached, load_standard

__all__ = [
    "SUBSETS", "ArrayDataset", "Dataset", "SplitSpec", "convert_channels",
    "SHAPE_CLASSES", "ShapesDataset", "ShapeScenes", "ShapesDetectionDataset", "ShapesSegmentationDataset",
    "FolderDataset", "Skipped", "check_image_file", "display_name", "scan_folder",
    "STANDARD_SETS", "RemoteFile", "StandardSet", "cache_dir", "fetch_files", "is_cached", "load_standard",
    "VOC_CLASSES", "VOID", "AnnotatedDataset", "load_coco", "load_voc", "scan_mask_folder",
    "CatalogDataset", "CatalogEntry", "CatalogTaskDataset", "catalog_entries", "is_prepared", "open_catalog_dataset",
    "tfds_data_dir",
    "FILL_MODES", "AugmentationSpec", "augment_preview", "augmentation_layers", "build_augmentation",
]
