"""``smpconvnet reparam`` (the deployed form, saved as a model folder) and ``smpconvnet export`` (ONNX / TorchScript)."""
import argparse
from pathlib import Path

from ..weights.deploy import DEFAULT_ONNX_OPSET, EXPORT_TOLERANCE, export_model, reparameterize_to_folder
from ._args import (
    LOAD_KWARGS_HELP, DefaultsHelpFormatter, add_input_size_argument, add_model_kwargs_argument, add_pretrained_argument,
    model_kwargs_of, parse_pretrained, parse_size)


def add_parser(subparsers: argparse._SubParsersAction):
    common = dict(formatter_class=DefaultsHelpFormatter)
    p = subparsers.add_parser(
        'reparam', help='save the deployed (re-parameterised) form of a model to a folder',
        description='Load SRC (a model name, hf-hub:/local-dir: name, converted folder or checkpoint file), '
                    're-parameterise it for inference and save DST/ (model.safetensors, config.json marked '
                    '"deployed": true, README.md). It loads back as the deployed model with '
                    'timm.create_model("local-dir:DST", pretrained=True) or smpconvnet.load_model("DST")[0] '
                    '(load_model gives the model and where it came from).', **common)
    p.add_argument('src', help='model name, hf-hub:org/name, local-dir:/path, folder or checkpoint')
    p.add_argument('dst', help='output folder')
    p.add_argument('--force', action='store_true', help='replace DST if it exists')
    add_pretrained_argument(p)
    add_input_size_argument(p, 'input C,H,W (images: the checked input) or C,L (sequences: the length the kernels are '
                               'deployed for) (default: the model\'s)')
    add_model_kwargs_argument(p, LOAD_KWARGS_HELP)
    p.set_defaults(func=lambda a: (reparameterize_to_folder(
        a.src, a.dst, force=a.force, input_size=parse_size(a.input_size),
        pretrained=parse_pretrained(a.pretrained), model_kwargs=model_kwargs_of(a)), 0)[1])

    p = subparsers.add_parser(
        'export', help='export a re-parameterised model to ONNX or TorchScript',
        description='Re-parameterise MODEL and export it with a dynamic batch axis; the file is then run '
                    '(onnxruntime / torch.jit.load) and its outputs checked against PyTorch '
                    f'(relative tolerance {EXPORT_TOLERANCE:.0e}) before it is renamed into place.', **common)
    p.add_argument('model', help='model name, hf-hub:org/name, local-dir:/path, folder or checkpoint')
    p.add_argument('--format', choices=('onnx', 'torchscript'), default='onnx')
    p.add_argument('-o', '--output', help='output file (default: the model name with / : . replaced by _, plus .onnx / .pt, e.g. smpconv_tcn_japanesevowels_aeon.onnx)')
    p.add_argument('--force', action='store_true', help='replace the output file if it exists')
    add_pretrained_argument(p)
    add_input_size_argument(p, 'export input C,H,W or C,L (default: the model\'s)')
    p.add_argument('--opset', type=int, help=f'ONNX opset (default: {DEFAULT_ONNX_OPSET}; --format onnx only)')
    p.add_argument('--no-check', action='store_true', help='skip running the exported file')
    add_model_kwargs_argument(p, LOAD_KWARGS_HELP)

    def run(a):
        if a.output is not None and not a.output.strip():
            raise ValueError('--output is empty: give the file to write, or leave -o out for the default name')
        if a.opset is not None and a.format != 'onnx':
            raise ValueError(f'--opset {a.opset} is an ONNX opset: leave it out with --format {a.format}')
        out = a.output or (Path(a.model.split(':', 1)[-1].rstrip('/')).name.replace('.', '_') +
                           ('.onnx' if a.format == 'onnx' else '.pt'))
        export_model(a.model, out, a.format, force=a.force, input_size=parse_size(a.input_size),
                     opset=DEFAULT_ONNX_OPSET if a.opset is None else a.opset, check=not a.no_check,
                     pretrained=parse_pretrained(a.pretrained),
                     model_kwargs=model_kwargs_of(a))
        return 0
    p.set_defaults(func=run)
