"""Reusable building blocks; they know nothing of any model.

point_kernel    the self-moving point kernel (``PointKernel``), sampled on a grid of any size
conv_backends   depthwise 'same' convolution with large kernels (direct, FFT, Toeplitz) and 1x1 GEMM convolutions
causal_conv     causal and centred ('same') 1-D convolution with long kernels (direct or FFT), and their static
                layers CausalConv1d and SameConv1d
norm            MaskedBatchNorm1d: batch statistics over the valid steps of right-padded sequences
reparam         BatchNorm folding for inference re-parameterisation, and the relative-error measure
"""
from .causal_conv import causal_conv1d
from .conv_backends import KernelCache, PointwiseConv2d, conv_backend, depthwise_conv2d_same, set_default_backend
from .point_kernel import PointKernel, clamp_all_radii_, sampling_grid
from .reparam import bn_scale_shift, fold_affine_before, fold_bn_after, relative_error
