"""smpconvnet: SMPConv (self-moving point kernels, CVPR 2023) models for timm.

Importing the package registers every model with timm: ``timm.create_model('smpconvnet_t')``.
"""
from .point_kernel import PointKernel, clamp_all_radii_, sampling_grid
from .smpconvnet import SMPConvNet, checkpoint_filter_fn, infer_config_from_checkpoint

__version__ = '0.1.0'
