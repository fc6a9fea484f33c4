""" SMP-TCNs trained by this project on UEA/UCR time-series benchmarks (weights shipped in ``smpconvnet/pretrained/``)

Each data set has a registered model with the architecture it was trained with and one pretrained tag,
``aeon`` (the data come from the ``aeon`` package's offline copy of the UEA/UCR archive, default train/test
split): ``smpconv_tcn_osuleaf.aeon``, ``smpconv_tcn_acsf1.aeon``, ``smpconv_tcn_japanesevowels.aeon`` (chosen on a
25% hold-out of the training split). ``benchmarks/ucr.py`` scores them next to MiniRocket.
Their ``pretrained_cfg`` records what evaluation needs to reproduce the training-time preprocessing:

* ``input_size = (channels, 1, length)``: the length sequences are right-padded to (the grid the kernels are
  sampled on; variable-length sets pass their true ``lengths``);
* ``mean`` / ``std``: per-channel statistics of the training split, applied as ``(x - mean) / std``;
* ``label_names``: the class labels (aeon's strings) in classifier order.

``timm.create_model('smpconv_tcn_osuleaf', pretrained=True)`` loads the shipped weights offline (the config's
``file`` points at ``smpconvnet/pretrained/<model>.aeon/model.safetensors``; ``hf_hub_id`` is the Hub copy).
``smpconvnet evaluate-seq smpconv_tcn_osuleaf.aeon`` re-measures the test accuracy. Training commands:
``scripts/train_aeon.py``; the model cards in ``smpconvnet/pretrained/`` give data, model selection, recipe and
accuracy.
"""
from typing import Any, Dict, Optional

from timm.models._registry import generate_default_cfgs, register_model

from ._pretrained import weight_source_cfg
from .smpconv_tcn import SMPConvTCN, build_smpconv_tcn

__all__ = ['SEQ_ZOO', 'dataset_of']

# Per data set: the aeon name, the architecture (SMPConvTCN arguments; global_pool chosen on a validation split of
# the training data, see scripts/train_aeon.py) and the preprocessing of the training
# split. mean/std are the training split's per-channel statistics as computed by smpconvnet.data.sequences.channel_stats (float64
# repr, exactly those the shipped weights were trained with: the GPU machine's float64 sums differ from a CPU's in
# the 15th digit); tests/weights/test_shipped_weights.py recomputes them from the data and compares.
SEQ_ZOO: Dict[str, Dict[str, Any]] = {
    'smpconv_tcn_osuleaf': dict(
        dataset='OSULeaf', length=427, label_names=('1', '2', '3', '4', '5', '6'),
        mean=(-9.21542737617995e-11,), std=(0.9988283535148531,),
        arch=dict(in_chans=1, num_classes=6, num_blocks=4, hidden_channels=30, n_points=30, init_radius=0.005,
                  coord_std=0.1, small_kernel_size=5, bias=True, dropout=0.1, r_min=1e-4, global_pool='avg'),
        description='OSULeaf (UCR): leaf outlines as 427-step 1-D series, 6 species, 200 train / 242 test'),
    'smpconv_tcn_acsf1': dict(
        dataset='ACSF1', length=1460, label_names=tuple(str(i) for i in range(10)),
        mean=(5.109333919603633e-10,), std=(0.9999999989476152,),
        arch=dict(in_chans=1, num_classes=10, num_blocks=4, hidden_channels=30, n_points=30, init_radius=0.0015,
                  coord_std=0.1, small_kernel_size=5, bias=True, dropout=0.1, r_min=1e-4, global_pool='avg'),
        description='ACSF1 (UCR): appliance power consumption, 1460 steps, 10 classes, 100 train / 100 test'),
    'smpconv_tcn_japanesevowels': dict(
        dataset='JapaneseVowels', length=29, label_names=tuple(str(i) for i in range(1, 10)),
        mean=(0.8691055006448446, -0.5545014389751627, 0.24610909016431898, -0.2672937594860974, 0.2189766303289019,
              -0.21053823970468574, -0.17406514180422072, -0.051705028583446354, -0.20493131296781333,
              -0.1811938510666763, -0.02359156345372091, 0.08621397659609069),
        std=(0.48761988407521645, 0.39118182570637205, 0.3009028692577913, 0.30591238908447366, 0.2690989445006123,
             0.16830004017426553, 0.16122476215428913, 0.18834022191391772, 0.18772420548360083,
             0.11691695874917697, 0.09763703278817713, 0.127546689181545),
        arch=dict(in_chans=12, num_classes=9, num_blocks=4, hidden_channels=30, n_points=30, init_radius=0.07,
                  coord_std=0.1, small_kernel_size=5, bias=True, dropout=0.1, r_min=1e-4, global_pool='last'),
        description='JapaneseVowels (UEA): 12 LPC cepstrum channels, variable lengths 7-29, 9 speakers, '
                    '270 train / 370 test, fed at true lengths'),
}


def dataset_of(model_name: str) -> Optional[str]:
    """The aeon data set a zoo model was trained on (None for other models)."""
    entry = SEQ_ZOO.get(model_name.split('.')[0])
    return entry['dataset'] if entry else None


def _cfg(variant: str, tag: str = 'aeon') -> Dict[str, Any]:
    z = SEQ_ZOO[variant]
    arch = z['arch']
    return {
        **weight_source_cfg(variant, tag),
        'num_classes': arch['num_classes'],
        'input_size': (arch['in_chans'], 1, z['length']), 'pool_size': (1, z['length']),
        'mean': tuple(z['mean']), 'std': tuple(z['std']),
        'label_names': tuple(z['label_names']),
        'crop_pct': 1.0, 'interpolation': '',
        'first_conv': 'blocks.0.conv1.small', 'classifier': 'head',
        'license': 'mit',
        'description': z['description'],
        'paper_name': 'SMPConv: Self-moving Point Representations for Continuous Convolution',
        'origin_url': 'https://github.com/sangnekim/SMPConv',
    }


def _create(variant: str, pretrained: bool = False, **kwargs) -> SMPConvTCN:
    return build_smpconv_tcn(variant, pretrained, SEQ_ZOO[variant]['arch'], kwargs)


default_cfgs = generate_default_cfgs({f'{name}.aeon': _cfg(name) for name in SEQ_ZOO})


@register_model
def smpconv_tcn_osuleaf(pretrained: bool = False, **kwargs) -> SMPConvTCN:
    """SMP-TCN trained on OSULeaf (1 x 427, 6 classes)."""
    return _create('smpconv_tcn_osuleaf', pretrained=pretrained, **kwargs)


@register_model
def smpconv_tcn_acsf1(pretrained: bool = False, **kwargs) -> SMPConvTCN:
    """SMP-TCN trained on ACSF1 (1 x 1460, 10 classes)."""
    return _create('smpconv_tcn_acsf1', pretrained=pretrained, **kwargs)


@register_model
def smpconv_tcn_japanesevowels(pretrained: bool = False, **kwargs) -> SMPConvTCN:
    """SMP-TCN trained on JapaneseVowels (12 x up to 29 steps, variable length, 9 classes)."""
    return _create('smpconv_tcn_japanesevowels', pretrained=pretrained, **kwargs)
