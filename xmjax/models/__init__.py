"""Models composed from `xmjax.nn` blocks, each with its loss."""

from xmjax.models.baselines import fit_biased_mf, fit_cca, fit_logistic
from xmjax.models.build import from_config
from xmjax.models.cnn import DigitsCNN, make_baseline
from xmjax.models.drsl import DRSL, FNN, drsl_loss, similarity_targets
from xmjax.models.racg import (RACG, CaptionNodes, ImageNodes, dependency_adjacency,
                               encode_in_blocks, matched_cross_shares, similarity_matrix,
                               triplet_loss)
from xmjax.models.sdml import (DSAE, orthogonal_projection, pytorch_dense_init, sdml_loss,
                               sdml_loss_terms)
from xmjax.models.rrnet import (CandidateMLP, RRNet, bce_loss, classification_metrics, fixed_layouts,
                                parse_units, predict_classes)

__all__ = ["CandidateMLP", "CaptionNodes", "DRSL", "DSAE", "DigitsCNN", "FNN", "ImageNodes", "RACG", "RRNet",
           "bce_loss", "classification_metrics", "dependency_adjacency", "drsl_loss", "encode_in_blocks", "fit_biased_mf",
           "fit_cca", "fit_logistic",
           "fixed_layouts", "from_config", "make_baseline", "matched_cross_shares", "orthogonal_projection", "parse_units",
           "predict_classes", "pytorch_dense_init", "sdml_loss", "sdml_loss_terms", "similarity_matrix", "similarity_targets", "triplet_loss"]
