"""smpconvnet: SMPConv (self-moving point kernels, CVPR 2023) models for timm.

Importing the package registers every model with timm: ``timm.create_model('smpconvnet_t')``.
"""
from .point_kernel import PointKernel, clamp_all_radii_, sampling_grid
from .smpconvnet import SMPConvNet, checkpoint_filter_fn, infer_config_from_checkpoint
from .hub import set_hub_namespace
from .convert import load_model
from . import smpconv_tcn  # noqa: F401  (registers the SMP-TCN sequence models)
from .smpconv_tcn import SMPConvTCN, radius_param_groups
from . import smpconv_resnet  # noqa: F401  (registers the CIFAR-10 SMP ResNet)
from .smpconv_resnet import SMPConvResNet
from . import seq_zoo  # noqa: F401  (registers the SMP-TCNs trained on UEA/UCR sets, weights in weights/)

__version__ = '0.1.0'
