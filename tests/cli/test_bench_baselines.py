"""The bench's baselines are what the peer really runs: the original sequence code's path (its SMPKernel, CKConv with
horizon 'same', causal FFT convolution), verified against the original's reference outputs before it is timed; when
the reference outputs are missing, no comparison is printed. Speed itself is never tested."""
import torch
from safetensors.torch import load_file

from conftest import FIXTURES, rel_err
from smpconvnet.cli import bench


def test_baseline_equals_the_original_reference_outputs():
    err, why = bench.verify_original_tcn()
    assert err is not None and err < 1e-6, why


def test_baseline_fft_and_direct_paths_agree_with_the_reference():
    reference = load_file(str(FIXTURES / 'official_tcn_small_io.safetensors'))
    state = load_file(str(FIXTURES / 'official_tcn_small.safetensors'))
    for use_fft in (True, False):
        model = bench.OriginalTCN(1, 10, hidden=8, blocks=2, use_fft=use_fft).eval()
        model.load_state_dict(state)
        with torch.no_grad():
            assert rel_err(model(reference['input']), reference['logits']) < 1e-5


def test_no_comparison_without_the_reference_outputs(tmp_path, monkeypatch, capsys):
    err, why = bench.verify_original_tcn(tmp_path)
    assert err is None and 'not here' in why
    monkeypatch.setattr(bench, 'verify_original_tcn', lambda: (None, why))
    assert bench.main(['--quick', '--workloads', 'sequence']) == 0
    out = capsys.readouterr().out
    assert 'no comparison with the original method' in out and bench.BASELINE not in out


def test_bench_json_holds_every_figure(tmp_path, capsys):
    import json
    out = tmp_path / 'bench.json'
    assert bench.main(['--quick', '--workloads', 'sequence', '--json', str(out)]) == 0
    report = json.loads(out.read_text())
    assert report['torch'] == torch.__version__ and report['threads'] >= 1 and report['quick'] is True
    rows = report['rows']
    assert [r['workload'] for r in rows] == ['sequence'] * 3
    for row in rows:
        assert row['ratio'] is None  # --quick measures nothing
        assert row['reps'] == 1 and len(row['a_rates']) == len(row['b_rates']) == 1
        assert row['a_spread'][0] <= row['a_value'] <= row['a_spread'][1]


def test_image_baseline_equals_the_original_reference_outputs():
    """The original code's SMPConvNet path (kernels re-sampled every forward, full-size depthwise convolution):
    features, logits and the first kernel equal the original's outputs; SMPConv-T's parameter count."""
    from smpconvnet.cli._baselines import OriginalSMPConvNet
    err, why = bench.verify_original_smpconvnet()
    assert err is not None and err < 1e-6, why
    assert sum(p.numel() for p in OriginalSMPConvNet().parameters()) == 26_705_248


def test_image_rows_show_the_original_path_only_when_verified(tmp_path, monkeypatch, capsys):
    import json
    out = tmp_path / 'bench.json'
    assert bench.main(['--quick', '--workloads', 'inference', '--json', str(out)]) == 0
    rows = json.loads(out.read_text())['rows']
    assert [r['a'] for r in rows] == ['smpconvnet_t (deployed)', bench.ORIGINAL_IMAGE]
    assert [r['b'] for r in rows] == ['convnext_tiny'] * 2 and rows[0]['b_rates'] == rows[1]['b_rates']  # one run
    assert 'outputs vs ours deployed, same weights: max rel diff' in rows[1]['note']
    diff = float(rows[1]['note'].rsplit(' ', 1)[1])
    assert diff < 1e-5  # the same weights give the same outputs on both paths
    monkeypatch.setattr(bench, 'verify_original_smpconvnet', lambda: (None, 'not here'))
    capsys.readouterr()
    assert bench.main(['--quick', '--workloads', 'inference']) == 0
    printed = capsys.readouterr().out
    assert 'no row for the original code' in printed and bench.ORIGINAL_IMAGE not in printed
