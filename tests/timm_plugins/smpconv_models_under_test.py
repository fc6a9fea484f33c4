"""A pytest plugin for timm's own model tests (scripts/timm_model_tests.sh): registers three untrained models that the
library reaches only through constructor arguments, which timm's suite does not pass, so that the suite checks them as
it checks every registered model:

* ``smpconv_tcn_ensemble_test``: an ``SMPConvTCNEnsemble`` of 3 members of the GunPoint architecture (``num_members=``);
* ``smpconv_tcn_centred_test``: a centred SMP-TCN (``causal=False``, mean pooling) of the GunPoint architecture;
* ``smpconv_tcn_zero_padded_test``: an SMP-TCN that reads its input zero-padded to 150 steps (``zero_pad_to=150``,
  mean pooling) of the GunPoint architecture.

Registered only in that test process, never by the library."""
from timm.models import get_pretrained_cfg, register_model
from timm.models._registry import generate_default_cfgs

import smpconvnet  # noqa: F401  (registers the models)
from smpconvnet.models.seq_zoo import SEQ_ZOO
from smpconvnet.models.smpconv_tcn import build_smpconv_tcn

_BASE, _MEMBERS = 'smpconv_tcn_gunpoint', 3
# the GunPoint model's config without its weight source
_CFG = {k: v for k, v in get_pretrained_cfg(f'{_BASE}.aeon').to_dict().items()
        if k not in ('file', 'hf_hub_id', 'hf_hub_filename', 'url', 'tag', 'architecture')}
_CFG.update(first_conv=tuple(f'members.{i}.blocks.0.conv1.small' for i in range(_MEMBERS)),
            classifier=tuple(f'members.{i}.head' for i in range(_MEMBERS)))
_SINGLE_CFG = {k: v for k, v in get_pretrained_cfg(f'{_BASE}.aeon').to_dict().items()
               if k not in ('file', 'hf_hub_id', 'hf_hub_filename', 'url', 'tag', 'architecture')}
default_cfgs = generate_default_cfgs({
    'smpconv_tcn_ensemble_test.untrained': _CFG,
    'smpconv_tcn_centred_test.untrained': _SINGLE_CFG,
    'smpconv_tcn_zero_padded_test.untrained': dict(_SINGLE_CFG, fixed_input_size=True),  # as train-seq records
})


@register_model
def smpconv_tcn_ensemble_test(pretrained: bool = False, **kwargs):
    """3-member SMP-TCN ensemble (GunPoint architecture, 1 x 150, 2 classes), no weights."""
    return build_smpconv_tcn('smpconv_tcn_ensemble_test', pretrained,
                             dict(SEQ_ZOO[_BASE]['arch'], num_members=_MEMBERS), kwargs)


@register_model
def smpconv_tcn_centred_test(pretrained: bool = False, **kwargs):
    """Centred SMP-TCN (``causal=False``, GunPoint architecture with mean pooling, 1 x 150, 2 classes), no weights."""
    return build_smpconv_tcn('smpconv_tcn_centred_test', pretrained,
                             dict(SEQ_ZOO[_BASE]['arch'], causal=False, global_pool='avg'), kwargs)


@register_model
def smpconv_tcn_zero_padded_test(pretrained: bool = False, **kwargs):
    """SMP-TCN reading its input zero-padded to 150 steps (``zero_pad_to=150``, GunPoint architecture with mean
    pooling, 1 x 150, 2 classes), no weights."""
    return build_smpconv_tcn('smpconv_tcn_zero_padded_test', pretrained,
                             dict(SEQ_ZOO[_BASE]['arch'], zero_pad_to=150, global_pool='avg'), kwargs)
