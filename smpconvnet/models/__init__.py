"""The model families, each in its own file in timm's house style, registered with timm on import.

smpconvnet       SMPConvNet ImageNet backbones (``smpconvnet_t`` / ``_b``)
smpconv_tcn      the paper's causal SMP-TCN sequence models
smpconv_resnet   the paper's CIFAR-10 SMP ResNet
seq_zoo          SMP-TCNs trained by this project on UEA/UCR sets (weights in ``smpconvnet/pretrained/``)
_pretrained      where every family's pretrained weights come from (Hub namespace, shipped files)
_checkpoint      checkpoint unwrapping and deployed-state-dict checks shared by every family's filter, the checks
                 of timm's ``checkpoint_path=`` for these models, and of weights recorded as another architecture

A new variant of a family: a config entry and a ``@register_model`` function at the bottom of its file.
"""
from typing import Optional

# what the rest of the package (weights/, cli/) uses of the families' shared private modules
from ._args import input_channels_words
from ._checkpoint import (
    RECORDED_ARGS_KEY, RECORDED_TRAINED_LENGTH, as_recorded, check_weights_file, command_line_value,
    command_model_kwargs, command_option, find_state_dict, script_defaults,
    folder_weights_file, has_batchnorm, innermost_checkpoint, install_checkpoint_path_hook, is_deployed_state_dict,
    is_safetensors_file, is_unsuffixed_safetensors, local_model_name, model_folder_of, model_kwargs_option,
    pooling_at_config_root,
    pooling_shown_by, recorded_args_metadata, recorded_model_args, removed_prefix, repeated_input_channels,
    safe_torch_load,
    state_dict_problem, train_py_model_args, unwrap_state_dict, warn_clamped_radii, with_checkpoint_checks,
    with_class_defaults,
)
from ._pretrained import (
    NOT_RECORDED, WEIGHTS_DIR, PretrainedWeightsNotFoundError, adapted_back_message, adapted_channels_note,
    adapted_channels_rule,
    adapted_from_channels, adapted_via_channels, cfg_trained_length, describes_trained_weights,
    folder_weights_metadata, hub_namespace, is_project_model, is_weight_source_error, length_not_recorded_note,
    length_stated_note, new_classifier_note, overlay_sources, recorded_stated_against,
    recorded_trained_length, said_contradicted_length, said_length_not_recorded, said_other_weights, said_random,
    said_trained_length, say_checkpoint_loaded, say_saved_adaptation, set_hub_namespace, stated_length_option,
    tag_in_chans_option, tagged_name, trained_at, trained_from_description, weights_channels, weights_loaded_after,
    weights_location, with_build_notes, with_channels, with_note, with_num_classes,
)
from .smpconvnet import SMPConvNet, checkpoint_filter_fn, deployed_model_args, infer_config_from_checkpoint
from .smpconv_tcn import (
    SMPConvTCN, SMPConvTCNEnsemble, follow_loaded_file_length, is_sequence_architecture, kernels_span_the_input,
    member_network, radius_param_groups, two_branch_eval,
)
from .smpconv_resnet import SMPConvResNet
from . import smpconv_resnet as _resnet, smpconv_tcn as _tcn, smpconvnet as _smpconvnet

# per family, the arguments that change a model's outputs and no parameter's shape (each family's SHAPE_BLIND_ARGS)
SHAPE_BLIND_ARGS = {'smpconvnet': _smpconvnet.SHAPE_BLIND_ARGS, 'tcn': _tcn.SHAPE_BLIND_ARGS,
                    'resnet': _resnet.SHAPE_BLIND_ARGS}
from . import seq_zoo  # noqa: F401  (registers the trained sequence models)


def checkpoint_loaded(model, source: str, path: str, weights_chans: Optional[int] = None) -> None:
    """What a model holds after the checkpoint ``path`` was loaded into it strictly (timm's ``checkpoint_path=``, a
    timm script's ``--checkpoint``; ``source`` names it): the file's weights (``say_checkpoint_loaded``: built with
    pretrained=False it said random ones, with True the tag's; a first layer adapted from the file's
    ``weights_chans`` input channels), trained at the length the file records, else its cfg's, where an SMP-TCN was
    built for another, and of that length where built for none (``follow_loaded_file_length``)."""
    say_checkpoint_loaded(model, source, weights_chans, path)
    follow_loaded_file_length(model, path)


# timm.create_model(..., checkpoint_path=) of these models: checked file, family's checkpoint filter, described
install_checkpoint_path_hook(loaded=checkpoint_loaded)
