"""Models composed from `xmjax.nn` blocks, each with its loss."""

from xmjax.models.cnn import DigitsCNN, make_baseline
from xmjax.models.drsl import DRSL, FNN, drsl_loss, similarity_targets
from xmjax.models.sdml import DSAE, orthogonal_projection, sdml_loss
from xmjax.models.rrnet import (RRNet, bce_loss, classification_metrics, parse_units,
                                predict_classes)

__all__ = ["DRSL", "DSAE", "DigitsCNN", "FNN", "RRNet", "drsl_loss", "orthogonal_projection",
           "sdml_loss", "similarity_targets", "bce_loss", "classification_metrics", "make_baseline",
           "parse_units", "predict_classes"]
