"""The package's layout is its design: layers -> models -> weights -> train / data -> commands, never back.

Walks every module's imports (function-level ones too) and fails on an import cycle, on an import of another
module's ``_private`` name, and on an arrow that points the wrong way between the sub-packages.
"""
import ast
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
TOP_LEVEL_UTILITIES = {'smpconvnet.atomic_io', 'smpconvnet.profiling'}
MAX_TOP_LEVEL_MODULES = 8


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


def test_no_import_cycles_between_plain_modules():
    # package __init__ files re-export their modules, so only cycles between plain modules count
    plain = {m for m, p in MODULES.items() if p.name != '__init__.py'}
    graph = {m: {t for t in targets if t in plain} for m, targets in _graph().items() if m in plain}
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


def test_no_private_names_across_modules():
    private = [f'{name} imports {mod}.{imported}' for name, path in MODULES.items()
               for mod, imported in _imports(name, path)
               if imported and imported.startswith('_') and not imported.startswith('__')
               and mod in MODULES and mod != name]
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
            if not other and target not in TOP_LEVEL_UTILITIES and target != 'smpconvnet':
                wrong.append(f'{name} -> {target} (top-level module that is not a utility)')
            if target == 'smpconvnet' and part != 'cli':
                wrong.append(f'{name} -> smpconvnet (the package root imports everything)')
    assert not wrong, wrong


def test_commands_never_import_each_other():
    # command modules (helpers such as cli._args, shared argument types, are not commands)
    commands = {m for m in MODULES if m.startswith('smpconvnet.cli.') and not m.rsplit('.', 1)[1].startswith('_')}
    crossing = [f'{name} -> {target}' for name in commands for target in _graph()[name] if target in commands]
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
