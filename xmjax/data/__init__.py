"""Data: shipped sets, loaders, splits and input validation."""

from xmjax.data.esc_spectrograms import EscClips, load_esc_spectrograms
from xmjax.data.fold_features import FoldFeatures, load_fold_features
from xmjax.data.image_folder import ImageFolder, LabeledImages, load_image_folder
from xmjax.data.shipped import (asset_path, load_label_embeddings, load_mfeat, load_optdigits,
                                 MFEAT_VIEWS)
from xmjax.data.splits import standardize, stratified_split

__all__ = ["asset_path", "EscClips", "FoldFeatures", "ImageFolder", "LabeledImages",
           "load_esc_spectrograms", "load_fold_features", "load_image_folder",
           "load_label_embeddings", "load_mfeat", "load_optdigits", "MFEAT_VIEWS",
           "standardize", "stratified_split"]
