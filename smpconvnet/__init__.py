"""smpconvnet: SMPConv (self-moving point kernels, CVPR 2023) models for timm.

Importing the package registers every model with timm: ``timm.create_model('smpconvnet_t')``.

Layout (each part imports only the parts before it):
    layers/   building blocks that know no model: point kernels, convolution backends, BatchNorm folding
    models/   one file per model family (timm house style) and the registry of trained sequence models
    data/     UEA/UCR sequence data sets (aeon) and their preprocessing
    weights/  model sources (any name, folder or checkpoint -> a model), conversion, deployment, the Hub
    train/    timm's train.py / validate.py launcher and recipes; the sequence-model trainer
    cli/      the ``smpconvnet`` command line, one module per command
"""
__version__ = '0.1.0'

from .layers import PointKernel, clamp_all_radii_, sampling_grid
from .models import (
    PretrainedWeightsNotFoundError, SMPConvNet, SMPConvResNet, SMPConvTCN, SMPConvTCNEnsemble, checkpoint_filter_fn,
    infer_config_from_checkpoint, radius_param_groups, set_hub_namespace,
)
from .weights import load_model
from . import train  # noqa: F401  (registers the train-seq checkpoint format with every model source)


def _alias_legacy_modules():
    # Whole models pickled with torch.save by the earlier flat layout name the modules of their classes
    # (smpconvnet.smpconvnet.SMPConvNet, ...): the same modules under those names, so such files still load.
    import sys
    from .layers import causal_conv, conv_backends, point_kernel, reparam
    from .models import seq_zoo, smpconv_resnet, smpconv_tcn, smpconvnet
    for module in (causal_conv, conv_backends, point_kernel, reparam, seq_zoo, smpconv_resnet, smpconv_tcn, smpconvnet):
        sys.modules.setdefault(f'{__name__}.{module.__name__.rsplit(".", 1)[1]}', module)


_alias_legacy_modules()

__all__ = [
    'PointKernel', 'clamp_all_radii_', 'sampling_grid', 'SMPConvNet', 'SMPConvTCN', 'SMPConvTCNEnsemble', 'SMPConvResNet',
    'checkpoint_filter_fn', 'infer_config_from_checkpoint', 'radius_param_groups', 'set_hub_namespace', 'load_model',
    'PretrainedWeightsNotFoundError',
    '__version__',
]
