""" SMP-TCNs trained by this project on UEA/UCR time-series benchmarks (weights shipped in ``smpconvnet/pretrained/``)

Each of the eight classification sets in the ``aeon`` wheel (its offline copy of the UEA/UCR archive, default
train/test split) has a registered model with the architecture it was trained with and one pretrained tag, ``aeon``:
``smpconv_tcn_<data set, lower case>.aeon``. All eight are SMP-TCNs, six causal, whose architecture and recipe were
chosen by k-fold cross-validation on the training split (``scripts/train_aeon.py``; the test split is scored once,
at the end): seven have 3 blocks x 32 channels (ItalyPowerDemand: 64), ACSF1's 4 blocks x 30 channels; OSULeaf's
uses short SMP kernels (``kernel_length`` taps) pooled over the series, ArrowHead's and ACSF1's short centred ones
(``causal=False``: each SMP convolution sees 16 and 32 steps either side). ``benchmarks/ucr.py`` scores them next to
MiniRocket.
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
from typing import Any, Dict, Optional, Union

from timm.models._registry import generate_default_cfgs, register_model

from ._pretrained import weight_source_cfg
from .smpconv_tcn import SEQUENCE_DATA_CFG, SMPConvTCN, SMPConvTCNEnsemble, build_smpconv_tcn

__all__ = ['SEQ_ZOO', 'dataset_of']

# Per data set: the aeon name, the architecture (SMPConvTCN arguments; what the cross-validation grid varied is in
# scripts/train_aeon.py and the model card) and the preprocessing of the training split. mean/std are the training
# split's per-channel statistics as computed by smpconvnet.data.sequences.channel_stats (float64 repr, exactly those
# the shipped weights were trained with: float64 sums on other machines may differ in the 15th digit);
# tests/weights/test_shipped_weights.py recomputes them from the data and compares.
SEQ_ZOO: Dict[str, Dict[str, Any]] = {
    # chosen by 3-fold cross-validation (12 candidates): an ensemble of 5 seeds (mean class probabilities) of 32-tap
    # causal SMP kernels (init_radius one tap spacing) pooled over the series, 400 epochs; trained (and run) through
    # the FFT path, the same convolution, faster to train on a CPU than F.conv1d
    'smpconv_tcn_osuleaf': dict(
        dataset='OSULeaf', length=427, label_names=('1', '2', '3', '4', '5', '6'),
        mean=(-9.21542737617995e-11,), std=(0.9988283535148531,),
        arch=dict(in_chans=1, num_classes=6, num_blocks=3, hidden_channels=32, n_points=30, init_radius=0.0645,
                  coord_std=0.1, small_kernel_size=5, bias=True, dropout=0.1, r_min=1e-4, kernel_length=32,
                  global_pool='avg', use_fft=True, num_members=5),
        description='OSULeaf (UCR): leaf outlines as 427-step 1-D series, 6 species, 200 train / 242 test; an '
                    'ensemble of 5 seeds'),
    # chosen by 3-fold cross-validation (14 candidates): an ensemble of 5 seeds (mean class probabilities), each
    # trained 400 epochs, of the first-generation model's 4 blocks x 30 channels with centred 65-tap SMP kernels (a
    # middle tap; init_radius one tap spacing) pooled over the series, as FCN and ResNet read whole series; trained
    # (and run) through the FFT path, the same convolution, faster to train on a CPU than F.conv1d at these lengths
    'smpconv_tcn_acsf1': dict(
        dataset='ACSF1', length=1460, label_names=tuple(str(i) for i in range(10)),
        mean=(5.109333919603633e-10,), std=(0.9999999989476152,),
        arch=dict(in_chans=1, num_classes=10, num_blocks=4, hidden_channels=30, n_points=30, init_radius=0.0312,
                  coord_std=0.1, small_kernel_size=5, bias=True, dropout=0.1, r_min=1e-4, kernel_length=65,
                  global_pool='avg', causal=False, use_fft=True, num_members=5),
        description='ACSF1 (UCR): appliance power consumption, 1460 steps, 10 classes, 100 train / 100 test; an '
                    'ensemble of 5 seeds'),
    # chosen by 5-fold cross-validation on the training split and its repeated check on two more cuts
    # (scripts/train_aeon.py, phase cv): ACSF1's recipe then, centred 33-tap kernels (init_radius one tap spacing)
    # pooled over the series, trained in FCN's regime (batches of 4, 1500 epochs), reading each series and its first
    # difference (MultiRocket's second view)
    'smpconv_tcn_arrowhead': dict(
        dataset='ArrowHead', length=251, label_names=('0', '1', '2'),
        mean=(3.870526013707049e-11,), std=(0.9980059797431542,),
        arch=dict(in_chans=1, num_classes=3, num_blocks=3, hidden_channels=32, n_points=30, init_radius=0.0625,
                  coord_std=0.1, small_kernel_size=5, bias=True, dropout=0.1, r_min=1e-4, kernel_length=33,
                  global_pool='avg', causal=False, first_difference=True),
        description='ArrowHead (UCR): arrowhead outlines as 251-step 1-D series, 3 classes, 36 train / 175 test'),
    'smpconv_tcn_basicmotions': dict(
        dataset='BasicMotions', length=100, label_names=('badminton', 'running', 'standing', 'walking'),
        mean=(2.5527596326039093, -1.303936761837467, -1.0265804955742315, 0.019051104736165142,
              -0.023957696343772112, -0.05578966582135763),
        std=(7.072305651759065, 6.7940875636272215, 3.546373472151727, 2.111920185892044, 1.8207506393384345,
             3.5165859399414394),
        arch=dict(in_chans=6, num_classes=4, num_blocks=3, hidden_channels=32, n_points=30, init_radius=0.02,
                  coord_std=0.1, small_kernel_size=5, bias=True, dropout=0.1, r_min=1e-4, global_pool='avg'),
        description='BasicMotions (UEA): accelerometer and gyroscope, 6 channels x 100 steps, 4 activities, '
                    '40 train / 40 test'),
    'smpconv_tcn_gunpoint': dict(
        dataset='GunPoint', length=150, label_names=('1', '2'),
        mean=(-4.911019156376521e-10,), std=(0.9966610924919738,),
        arch=dict(in_chans=1, num_classes=2, num_blocks=3, hidden_channels=32, n_points=30, init_radius=0.0134,
                  coord_std=0.1, small_kernel_size=5, bias=True, dropout=0.1, r_min=1e-4, global_pool='avg'),
        description='GunPoint (UCR): hand motion as 150-step 1-D series, 2 classes, 50 train / 150 test'),
    'smpconv_tcn_italypowerdemand': dict(
        dataset='ItalyPowerDemand', length=24, label_names=('1', '2'),
        mean=(-2.4476176618936644e-09,), std=(0.9789450121468034,),
        arch=dict(in_chans=1, num_classes=2, num_blocks=3, hidden_channels=64, n_points=30, init_radius=0.087,
                  coord_std=0.1, small_kernel_size=5, bias=True, dropout=0.1, r_min=1e-4, global_pool='avg'),
        description='ItalyPowerDemand (UCR): daily electricity demand, 24 hourly steps, 2 seasons, '
                    '67 train / 1029 test'),
    'smpconv_tcn_japanesevowels': dict(
        dataset='JapaneseVowels', length=29, label_names=tuple(str(i) for i in range(1, 10)),
        mean=(0.8691055006448446, -0.5545014389751627, 0.24610909016431898, -0.2672937594860974, 0.2189766303289019,
              -0.21053823970468574, -0.17406514180422072, -0.051705028583446354, -0.20493131296781333,
              -0.1811938510666763, -0.02359156345372091, 0.08621397659609069),
        std=(0.48761988407521645, 0.39118182570637205, 0.3009028692577913, 0.30591238908447366, 0.2690989445006123,
             0.16830004017426553, 0.16122476215428913, 0.18834022191391772, 0.18772420548360083,
             0.11691695874917697, 0.09763703278817713, 0.127546689181545),
        arch=dict(in_chans=12, num_classes=9, num_blocks=3, hidden_channels=32, n_points=15, init_radius=0.0714,
                  coord_std=0.1, small_kernel_size=5, bias=True, dropout=0.1, r_min=1e-4, global_pool='avg'),
        description='JapaneseVowels (UEA): 12 LPC cepstrum channels, variable lengths 7-29, 9 speakers, '
                    '270 train / 370 test, fed at true lengths'),
    'smpconv_tcn_pickupgesturewiimotez': dict(
        dataset='PickupGestureWiimoteZ', length=361, label_names=tuple(str(i) for i in range(1, 11)),
        mean=(0.8767245692582222,), std=(0.3498085375058405,),
        arch=dict(in_chans=1, num_classes=10, num_blocks=3, hidden_channels=32, n_points=30, init_radius=0.0056,
                  coord_std=0.1, small_kernel_size=5, bias=True, dropout=0.1, r_min=1e-4, global_pool='max',
                  num_members=5),
        description='PickupGestureWiimoteZ (UCR): Wii remote z-acceleration, variable lengths 29-361, 10 gestures, '
                    '50 train / 50 test, fed at true lengths; an ensemble of 5 seeds'),
}


def dataset_of(model_name: str) -> Optional[str]:
    """The aeon data set a zoo model was trained on (None for other models)."""
    entry = SEQ_ZOO.get(model_name.split('.')[0])
    return entry['dataset'] if entry else None


def model_for_dataset(dataset: str) -> Optional[str]:
    """The shipped model (``name.tag``) trained on the aeon data set ``dataset`` (None if there is none)."""
    for name, entry in SEQ_ZOO.items():
        if entry['dataset'] == dataset:
            return f'{name}.aeon'
    return None


def _cfg(variant: str, tag: str = 'aeon') -> Dict[str, Any]:
    z = SEQ_ZOO[variant]
    arch = z['arch']
    members = [f'members.{i}.' for i in range(arch['num_members'])] if 'num_members' in arch else ['']
    return {
        **weight_source_cfg(variant, tag),
        'num_classes': arch['num_classes'],
        'input_size': (arch['in_chans'], 1, z['length']), 'pool_size': (1, z['length']),
        'mean': tuple(z['mean']), 'std': tuple(z['std']),
        'label_names': tuple(z['label_names']),
        **SEQUENCE_DATA_CFG,
        'first_conv': tuple(f'{m}blocks.0.conv1.small' for m in members) if len(members) > 1
        else 'blocks.0.conv1.small',
        'classifier': tuple(f'{m}head' for m in members) if len(members) > 1 else 'head',
        'license': 'mit',
        'description': z['description'],
        'paper_name': 'SMPConv: Self-moving Point Representations for Continuous Convolution',
        'origin_url': 'https://github.com/sangnekim/SMPConv',
    }


def _create(variant: str, pretrained: bool = False, **kwargs) -> Union[SMPConvTCN, SMPConvTCNEnsemble]:
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


@register_model
def smpconv_tcn_arrowhead(pretrained: bool = False, **kwargs) -> SMPConvTCN:
    """SMP-TCN trained on ArrowHead (1 x 251, 3 classes)."""
    return _create('smpconv_tcn_arrowhead', pretrained=pretrained, **kwargs)


@register_model
def smpconv_tcn_basicmotions(pretrained: bool = False, **kwargs) -> SMPConvTCN:
    """SMP-TCN trained on BasicMotions (6 x 100, 4 classes)."""
    return _create('smpconv_tcn_basicmotions', pretrained=pretrained, **kwargs)


@register_model
def smpconv_tcn_gunpoint(pretrained: bool = False, **kwargs) -> SMPConvTCN:
    """SMP-TCN trained on GunPoint (1 x 150, 2 classes)."""
    return _create('smpconv_tcn_gunpoint', pretrained=pretrained, **kwargs)


@register_model
def smpconv_tcn_italypowerdemand(pretrained: bool = False, **kwargs) -> SMPConvTCN:
    """SMP-TCN trained on ItalyPowerDemand (1 x 24, 2 classes)."""
    return _create('smpconv_tcn_italypowerdemand', pretrained=pretrained, **kwargs)


@register_model
def smpconv_tcn_pickupgesturewiimotez(pretrained: bool = False, **kwargs) -> SMPConvTCNEnsemble:
    """Ensemble of 5 SMP-TCNs trained on PickupGestureWiimoteZ (1 x up to 361 steps, variable length, 10 classes)."""
    return _create('smpconv_tcn_pickupgesturewiimotez', pretrained=pretrained, **kwargs)
