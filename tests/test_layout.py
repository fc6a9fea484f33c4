"""The package's layout is its design: layers -> models -> weights -> train / data -> commands, never back.

Walks every module's imports (function-level ones too) and fails on an import cycle, on an import of another
module's ``_private`` name, and on an arrow that points the wrong way between the sub-packages.
"""
import ast
import re
from pathlib import Path
from typing import Dict, Set

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / 'smpconvnet'

# what each part may import from the rest of the package (besides itself and the top-level utilities)
ALLOWED = {
    'layers': set(),
    'models': {'layers'},
    'weights': {'layers', 'models'},
    'data': set(),
    'train': {'layers', 'models', 'weights', 'data'},
    'cli': {'layers', 'models', 'weights', 'data', 'train'},
}
TOP_LEVEL_UTILITIES = {'smpconvnet.atomic_io', 'smpconvnet.profiling', 'smpconvnet.plotting',
                       'smpconvnet.user_warnings'}
MAX_TOP_LEVEL_MODULES = 8
# the earlier flat layout's module names, aliased by the package root so that old pickles load
LEGACY_ALIASES = set()


def _modules() -> Dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob('*.py')):
        parts = ('smpconvnet',) + path.relative_to(PACKAGE).with_suffix('').parts
        if parts[-1] == '__init__':
            parts = parts[:-1]
        found['.'.join(parts)] = path
    return found


MODULES = _modules()


def _imports(name: str, path: Path):
    """(imported module, imported name or None) for every import in the module, at any depth."""
    package = name if path.name == '__init__.py' else name.rsplit('.', 1)[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ''
            if node.level:
                anchor = package
                for _ in range(node.level - 1):
                    anchor = anchor.rsplit('.', 1)[0]
                base = f'{anchor}.{base}' if base else anchor
            for alias in node.names:
                full = f'{base}.{alias.name}'
                yield (full, None) if full in MODULES else (base, alias.name)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, None


def _graph() -> Dict[str, Set[str]]:
    graph = {}
    for name, path in MODULES.items():
        graph[name] = {mod for mod, _ in _imports(name, path) if mod in MODULES and mod != name}
    return graph


def _part(module: str) -> str:
    parts = module.split('.')
    return parts[1] if len(parts) > 1 and parts[1] in ALLOWED else ''


def test_no_import_cycles():
    # every module, package __init__ files included (importing a package runs its __init__)
    graph = _graph()
    state: Dict[str, int] = {}
    cycles = []

    def visit(node, trail):
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append(trail[trail.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt, trail + [nxt])
        state[node] = 2

    for start in sorted(graph):
        if start not in state:
            visit(start, [start])
    assert not cycles, 'import cycles: ' + '; '.join(' -> '.join(c) for c in cycles)


def _package_of(module: str) -> str:
    return module if MODULES[module].name == '__init__.py' else module.rsplit('.', 1)[0]


def test_no_private_names_across_modules():
    private = []
    for name, path in MODULES.items():
        bound = {}  # local name -> module of this package it is bound to (import x / from pkg import module)
        for mod, imported in _imports(name, path):
            if imported and imported.startswith('_') and not imported.startswith('__') and mod in MODULES \
                    and mod != name:
                private.append(f'{name} imports {mod}.{imported}')
            leaf = mod.rsplit('.', 1)[-1]
            if mod in MODULES and leaf.startswith('_') and not leaf.startswith('__') \
                    and _package_of(mod) != _package_of(name) and mod != name:
                private.append(f'{name} imports the private module {mod} of another package')
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                for alias in node.names:
                    bound[alias.asname or alias.name] = alias.name
        for node in ast.walk(ast.parse(path.read_text())):
            # a private global reached through an imported module: conv_backends._flag
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in bound \
                    and node.attr.startswith('_') and not node.attr.startswith('__') and node.value.id != 'self':
                target = bound[node.value.id]
                if any(m.endswith('.' + target) for m in MODULES):
                    private.append(f'{name} uses {target}.{node.attr}')
    assert not private, private


def test_arrows_point_one_way():
    wrong = []
    for name, targets in _graph().items():
        part = _part(name)
        if not part:
            continue
        for target in targets:
            other = _part(target)
            if other and other != part and other not in ALLOWED[part]:
                wrong.append(f'{name} -> {target}')
            if not other and target not in TOP_LEVEL_UTILITIES and target != 'smpconvnet' \
                    and target not in LEGACY_ALIASES:
                wrong.append(f'{name} -> {target} (top-level module that is not a utility)')
            if target == 'smpconvnet' and part != 'cli':
                wrong.append(f'{name} -> smpconvnet (the package root imports everything)')
    for utility in TOP_LEVEL_UTILITIES:  # utilities use building blocks at most
        wrong += [f'{utility} -> {t}' for t in _graph()[utility] if _part(t) not in ('', 'layers') or t == 'smpconvnet']
    assert not wrong, wrong


def test_commands_never_import_each_other():
    # command modules (helpers such as cli._args, shared argument types, are not commands)
    commands = {m for m in MODULES if m.startswith('smpconvnet.cli.') and not m.rsplit('.', 1)[1].startswith('_')}
    crossing = [f'{name} -> {target}' for name in commands for target in _graph()[name] if target in commands]
    # nor load one by name (importlib): only the command line's own __init__ lists them
    for name in commands:
        for node in ast.walk(ast.parse(MODULES[name].read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                named = set(re.findall(r'smpconvnet\.cli\.(\w+)', node.value)) - {name.rsplit('.', 1)[1]}
                crossing += [f'{name} names smpconvnet.cli.{n}' for n in sorted(named)]
    assert not crossing, crossing


def test_top_level_is_small():
    plain = [p.name for p in PACKAGE.glob('*.py')]
    assert len(plain) <= MAX_TOP_LEVEL_MODULES, plain
    assert {p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / '__init__.py').exists()} == set(ALLOWED)


@pytest.mark.parametrize('name', ['PointKernel', 'SMPConvNet', 'SMPConvTCN', 'SMPConvResNet', 'checkpoint_filter_fn',
                                  'load_model', 'clamp_all_radii_', 'radius_param_groups', 'set_hub_namespace',
                                  'infer_config_from_checkpoint', 'sampling_grid'])
def test_public_api_stays_at_the_root(name):
    import smpconvnet
    assert hasattr(smpconvnet, name)


def test_import_registers_every_model():
    import timm
    import smpconvnet  # noqa: F401
    # minus the untrained models tests/timm_plugins registers for timm's tests (imported by other tests here)
    registered = set(timm.list_models('smpconv*')) - {'smpconv_tcn_ensemble_test', 'smpconv_tcn_centred_test',
                                                         'smpconv_tcn_zero_padded_test'}
    expected = {'smpconvnet_t', 'smpconvnet_b', 'smpconv_resnet_cifar10'} | {f'smpconv_tcn_{n}' for n in (
        'smnist', 'pmnist', 'scifar10', 'chartraj', 'speech_mfcc', 'speech_raw',  # the paper's sequence tasks
        # trained on aeon's eight UEA/UCR classification sets
        'arrowhead', 'basicmotions', 'gunpoint', 'italypowerdemand', 'osuleaf', 'acsf1', 'japanesevowels',
        'pickupgesturewiimotez')}
    assert registered == expected


def test_sequence_models_pickled_before_the_centred_variant_still_load(tmp_path):
    """``torch.save(model)`` files from before ``causal`` existed name ``SMPCausalConv1d`` / ``SMPCausalLargeKernel``
    and hold no ``causal`` attributes: they load as the causal models they were, eager and under TorchScript."""
    import timm
    import torch

    from smpconvnet.models import smpconv_tcn
    model = timm.create_model('smpconv_tcn_smnist', num_blocks=2, hidden_channels=8).eval()
    renamed = {smpconv_tcn.SMPConv1d: 'SMPCausalConv1d', smpconv_tcn.SMPLargeKernel1d: 'SMPCausalLargeKernel'}
    old = {cls: (cls.__name__, cls.__qualname__) for cls in renamed}
    states = [m.__dict__.pop('causal') for m in model.modules() if 'causal' in m.__dict__]
    try:
        for cls, name in renamed.items():
            cls.__name__ = cls.__qualname__ = name  # pickle as the earlier code did
        torch.save(model, tmp_path / 'model.pt')
    finally:
        for cls, (name, qualname) in old.items():
            cls.__name__, cls.__qualname__ = name, qualname
    assert states and b'SMPCausalLargeKernel' in (tmp_path / 'model.pt').read_bytes()
    loaded = torch.load(tmp_path / 'model.pt', weights_only=False)
    fresh = timm.create_model('smpconv_tcn_smnist', num_blocks=2, hidden_channels=8).eval()
    fresh.load_state_dict(loaded.state_dict())
    x = torch.randn(2, 1, 50)
    with torch.no_grad():
        assert torch.equal(loaded(x), fresh(x))
        # TorchScript runs each unit's two branches, eager the folded kernel: equal to round-off
        assert torch.allclose(torch.jit.script(loaded)(x), fresh(x), rtol=1e-5, atol=1e-7)
    assert all(getattr(m, 'causal', True) is True for m in loaded.modules())


def test_models_pickled_by_the_earlier_layout_still_load(tmp_path):
    """``torch.save(model)`` files of the flat layout name ``smpconvnet.smpconv_tcn.SMPConvTCN`` and the like."""
    import sys

    import timm
    import torch

    import smpconvnet
    from smpconvnet.layers import causal_conv, conv_backends, point_kernel, reparam
    from smpconvnet.models import seq_zoo, smpconv_resnet, smpconv_tcn, smpconvnet as family
    model = timm.create_model('smpconv_tcn_smnist', num_blocks=2, hidden_channels=8).eval()
    moved = {}
    for module in (causal_conv, conv_backends, point_kernel, reparam, seq_zoo, smpconv_resnet, smpconv_tcn, family):
        old = 'smpconvnet.' + module.__name__.rsplit('.', 1)[1]
        assert sys.modules[old] is module
        for obj in vars(module).values():
            if isinstance(obj, type) and obj.__module__ == module.__name__:
                moved[obj] = obj.__module__
                obj.__module__ = old  # pickle as the earlier layout did
    try:
        torch.save(model, tmp_path / 'model.pt')
    finally:
        for obj, name in moved.items():
            obj.__module__ = name
    assert b'smpconvnet.smpconv_tcn' in (tmp_path / 'model.pt').read_bytes()
    loaded = torch.load(tmp_path / 'model.pt', weights_only=False)
    x = torch.randn(2, 1, 50)
    with torch.no_grad():
        assert torch.equal(loaded(x), model(x))
    assert isinstance(loaded, smpconvnet.SMPConvTCN)
