"""``smpconvnet convert``: an original SMPConvNet checkpoint -> a timm / Hub model folder."""
import argparse

from ..weights.convert import convert_checkpoint


def add_parser(subparsers: argparse._SubParsersAction):
    p = subparsers.add_parser(
        'convert', help="convert an original SMPConvNet checkpoint to a timm/Hub folder",
        description="Convert an original SMPConvNet ImageNet checkpoint (.pth as released: {'model': ...}, "
                    "{'model_ema': ...}, 'module.' prefixes or a bare state dict; or .safetensors) into DST/ "
                    'with model.safetensors, config.json and a model card README.md. T or B is recognised from '
                    'the shapes; DST is written atomically and verified by loading it back through timm.')
    p.add_argument('src', help='original checkpoint (.pth, .pt, .bin, .safetensors)')
    p.add_argument('dst', help='output folder (loads with timm.create_model("local-dir:DST", pretrained=True))')
    p.add_argument('--force', action='store_true', help='replace DST if it exists')
    p.add_argument('--trust-pickle', action='store_true',
                   help='allow arbitrary pickled objects in SRC (unpickling runs code: trusted files only)')
    p.set_defaults(func=lambda a: (convert_checkpoint(a.src, a.dst, force=a.force, trust_pickle=a.trust_pickle),
                                   0)[1])
