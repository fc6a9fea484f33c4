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


def test_siren_kernel_net_is_the_papers_mlp():
    """The kernel-network baseline: positions -> Linear -> sin(w0 .) -> Linear -> sin(w0 .) -> Linear, per position,
    reshaped to the bank; the parameter-matched width is within 1% of the point kernel's parameters."""
    from smpconvnet.cli._baselines import SirenKernel, matched_hidden_width
    from smpconvnet.layers.point_kernel import PointKernel
    torch.manual_seed(0)
    net = SirenKernel(6, 2, ndim=2, hidden=5, omega_0=30.)
    bank = net([3, 4])
    assert bank.shape == (6, 2, 3, 4)
    ys, xs = torch.linspace(-1, 1, 3), torch.linspace(-1, 1, 4)
    l0, l1, l2 = net.layers
    for u in range(3):
        for v in range(4):
            h = torch.sin(30. * (l0.weight @ torch.stack([ys[u], xs[v]]) + l0.bias))
            h = torch.sin(30. * (l1.weight @ h + l1.bias))
            assert torch.allclose(bank[:, :, u, v], (l2.weight @ h + l2.bias).reshape(6, 2), atol=1e-6)
    for pk in (PointKernel(240, 384, 1, ndim=2), PointKernel(30, 30, 30, ndim=1, shared_coords=False)):
        n = sum(p.numel() for p in pk.parameters())
        hidden = matched_hidden_width(n, pk.ndim, pk.out_channels * pk.in_channels)
        m = sum(p.numel() for p in SirenKernel(pk.out_channels, pk.in_channels, pk.ndim, hidden).parameters())
        assert abs(m - n) / n < 0.01


def test_saved_for_backward_counts_what_autograd_keeps():
    w = torch.randn(256, 256, requires_grad=True)  # 0.25 MiB, a parameter: excluded
    x = torch.randn(256, 1024)                     # 1 MiB, saved by the matmul
    mib = bench.saved_for_backward_mib(lambda: torch.sin(w @ x), [w])
    # saved: x (1 MiB) and sin's input (1 MiB); plus the output (1 MiB)
    assert abs(mib - 3.0) < 1e-6


def test_kernelnet_workload_rows(tmp_path):
    import json
    out = tmp_path / 'bench.json'
    assert bench.main(['--quick', '--workloads', 'kernelnet', '--json', str(out)]) == 0
    rows = json.loads(out.read_text())['rows']
    assert len(rows) == 6 and all(r['ratio'] is None for r in rows)
    assert rows[0]['b'].startswith('SIREN kernel net, hidden 32 (CKConv)') and '(same parameters)' in rows[1]['b']
    assert all('kept for backward' in r['note'] for r in rows[:4])
    assert rows[4]['a'] == 'smpconv_tcn_smnist (point kernels)' and 'SIREN' in rows[4]['b']


def test_train_rows_have_adamw_sgd_and_the_original_path(tmp_path):
    import json
    out = tmp_path / 'bench.json'
    assert bench.main(['--quick', '--workloads', 'train', '--json', str(out)]) == 0
    rows = json.loads(out.read_text())['rows']
    assert [r['name'].split(')')[0] for r in rows] == [
        'training step (fwd + bwd + AdamW', 'training step (fwd + bwd + SGD', 'training step (fwd + bwd + AdamW']
    assert [r['a'] for r in rows] == ['smpconvnet_t', 'smpconvnet_t', bench.ORIGINAL_IMAGE]
    assert rows[0]['b_rates'] == rows[2]['b_rates']  # the original path against the same convnext_tiny timings
