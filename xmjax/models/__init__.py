"""Models composed from `xmjax.nn` blocks, each with its loss."""

from xmjax.models.cnn import DigitsCNN, make_baseline
from xmjax.models.rrnet import (RRNet, bce_loss, classification_metrics, parse_units,
                                predict_classes)

__all__ = ["DigitsCNN", "RRNet", "bce_loss", "classification_metrics", "make_baseline",
           "parse_units", "predict_classes"]
