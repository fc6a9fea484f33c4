"""``smpconvnet plot``: a PNG of the stated size that is not blank, for a shipped sequence model and an image model;
points outside the kernel grid are in the picture; clear errors without matplotlib or without point kernels."""
import re
import sys

import numpy as np
import pytest
import timm
import torch
from PIL import Image

from smpconvnet.cli import main
from smpconvnet.cli.plot import kernel_views
from smpconvnet.plotting import KernelView, plot_point_kernels


def _pixels(path, size):
    image = Image.open(path)
    assert image.size == size and image.format == 'PNG'
    pixels = np.asarray(image.convert('RGB'), dtype=np.int16)
    assert (pixels != pixels[0, 0]).any(axis=-1).mean() > 0.05  # drawn on, not a blank canvas
    return pixels


@pytest.mark.parametrize('src, size, rows', [('smpconv_tcn_osuleaf.aeon', (1200, 900), 3),  # one per block
                                             ('smpconvnet_t', (900, 1100), 4),
                                             # an ensemble: its first member's blocks (it drew block 0 of each)
                                             ('smpconv_tcn_pickupgesturewiimotez.aeon', (900, 700), 3)])
def test_plot_writes_a_picture_of_the_stated_size(tmp_path, capsys, src, size, rows):
    out = tmp_path / 'kernels.png'
    assert main(['plot', src, '--out', str(out), '--size', f'{size[0]}x{size[1]}', '--channels', '3']) == 0
    _pixels(out, size)
    assert f'{rows} kernels x 3 channels' in capsys.readouterr().out


def test_points_outside_the_grid_are_drawn(tmp_path):
    torch.manual_seed(0)
    model = timm.create_model('smpconvnet_t', layers=(1, 1, 1, 1), channels=(16, 32, 64, 128))
    view = kernel_views(model, max_rows=1)[0]
    before = _pixels(plot_point_kernels([view], tmp_path / 'a.png', channels=1, size_px=(400, 400)), (400, 400))
    with torch.no_grad():
        view.kernel.coords[0, 0] = torch.tensor([1.6, -1.7])  # a point that moved out of the kernel
    after = _pixels(plot_point_kernels([view], tmp_path / 'b.png', channels=1, size_px=(400, 400)), (400, 400))
    assert (before != after).any()


def test_each_panel_names_its_channel_and_its_radii_in_taps(tmp_path, monkeypatch):
    """At a whole series' length a point's radius is about one tap, and its bar hid behind the point's marker; the
    panels were titled 'channel k' whether the kernel had one input channel or many. The title gives the channel
    (output k, input 0 of a full convolution) and the radii's range in taps of the sampled grid."""
    from matplotlib.figure import Figure
    figures = []
    save = Figure.savefig
    monkeypatch.setattr(Figure, 'savefig', lambda self, *a, **k: (figures.append(self), save(self, *a, **k))[1])
    model = timm.create_model('smpconv_tcn_gunpoint.aeon', pretrained=True)
    views = kernel_views(model, max_rows=2)
    assert [v.kernel.in_channels for v in views] == [1, 32]
    for view in views:
        with torch.no_grad():
            view.kernel.radius.fill_(0.02)
            view.kernel.radius[..., 0] = 0.1  # 0.1 * (150 - 1) / 2 = 7.45 taps; 0.02: 1.49
    plot_point_kernels(views, tmp_path / 'r.png', channels=2, size_px=(900, 500))
    titles = [ax.get_title() for ax in figures[0].axes]
    assert titles == ['channel 0: radii 1.5-7.5 taps', 'channel 1: radii 1.5-7.5 taps',
                      'out 0 / in 0: radii 1.5-7.5 taps', 'out 1 / in 0: radii 1.5-7.5 taps']


def test_plot_needs_point_kernels_and_matplotlib(tmp_path, monkeypatch):
    deployed = timm.utils.reparameterize_model(timm.create_model('smpconv_tcn_smnist', num_blocks=2).eval())
    with pytest.raises(ValueError, match='no PointKernel.*training form'):
        plot_point_kernels(kernel_views(deployed), tmp_path / 'x.png')
    model = timm.create_model('smpconv_tcn_smnist', num_blocks=2)
    monkeypatch.setitem(sys.modules, 'matplotlib', None)
    monkeypatch.setitem(sys.modules, 'matplotlib.figure', None)
    with pytest.raises(ImportError, match=r'pip install "smpconvnet\[plot\]"'):
        plot_point_kernels([KernelView('k', model.blocks[0].conv1.smp.kernel, (50,))], tmp_path / 'x.png')
    assert not (tmp_path / 'x.png').exists()


def test_plot_reports_the_channels_it_drew(tmp_path, capsys):
    assert main(['plot', 'smpconv_tcn_gunpoint.aeon', '--out', str(tmp_path / 'c.png'), '--channels', '500',
                 '--size', '3880x300']) == 0
    assert '3 kernels x 32 channels' in capsys.readouterr().out  # the model's 32, not the 500 asked for


def test_a_size_too_small_to_read_is_refused_with_one_that_works(tmp_path, capsys):
    """At 320x200 the axes of 3 kernels x 4 channels collapsed (matplotlib warned and drew slivers): refused before
    the model is drawn, with the smallest size that is legible, which then works as printed."""
    import warnings
    out = tmp_path / 'k.png'
    assert main(['plot', 'smpconv_tcn_gunpoint.aeon', '--out', str(out), '--size', '320x200']) == 1
    err = capsys.readouterr().err
    assert 'too small for 3 kernels x 4 channels' in err and not out.exists()
    hint = re.search(r'\(--size (\d+x\d+);', err).group(1)
    assert hint == '520x312'
    with warnings.catch_warnings():
        warnings.simplefilter('error')  # matplotlib's layout warning too
        assert main(['plot', 'smpconv_tcn_gunpoint.aeon', '--out', str(out), '--size', hint]) == 0
    _pixels(out, (520, 312))
    # one channel of one kernel: the margins and the title's wrapped lines (the weights' path) count too
    argv = ['plot', 'smpconv_tcn_gunpoint.aeon', '--out', str(out), '--channels', '1', '--max-rows', '1']
    assert main(argv + ['--size', '120x120', '--force']) == 1
    hint = re.search(r'\(--size (\d+x\d+);', capsys.readouterr().err).group(1)
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        assert main(argv + ['--size', hint, '--force']) == 0
    assert main(argv + ['--length', '0']) == 1 and '--length 0: expected' in capsys.readouterr().err


def test_an_ensemble_is_drawn_block_by_block_of_its_first_member():
    model = timm.create_model('smpconv_tcn_gunpoint', num_members=3, num_blocks=2, hidden_channels=4)
    views = kernel_views(model)
    assert [v.title for v in views] == [f'members.0.blocks.{i}.conv1.smp (150), member 0 of 3' for i in range(2)]
    assert views[1].kernel is model.members[0].blocks[1].conv1.smp.kernel


@pytest.mark.parametrize('src', ['smpconv_tcn_gunpoint.aeon', 'smpconvnet_t'])
def test_titles_fit_the_picture_and_do_not_overlap_at_a_small_size(tmp_path, monkeypatch, src):
    """At 640x400 the figure's title (the weights' path) was cut at both edges and each row's first title (the
    kernel's name) ran over the next channels' titles: every title now lies inside the picture, none overlaps
    another."""
    from matplotlib.figure import Figure
    from matplotlib.text import Text
    figures = []
    save = Figure.savefig
    monkeypatch.setattr(Figure, 'savefig', lambda self, *a, **k: (figures.append(self), save(self, *a, **k))[1])
    assert main(['plot', src, '--out', str(tmp_path / 's.png'), '--size', '640x400', '--pretrained', 'auto']) == 0
    fig, = figures
    renderer = fig.canvas.get_renderer()
    titles = [t for t in fig.findobj(Text) if t.get_text() and t.get_visible()
              and (t in fig.texts or any(t in f.texts for f in fig.subfigs) or any(t is a.title for a in fig.axes))]
    assert len(titles) == 1 + len(fig.subfigs) + len(fig.axes) > 6
    boxes = [t.get_window_extent(renderer) for t in titles]
    for t, b in zip(titles, boxes):
        assert b.x0 >= -0.5 and b.x1 <= 640.5 and b.y0 >= -0.5 and b.y1 <= 400.5, t.get_text()
    for i, (a, ba) in enumerate(zip(titles, boxes)):
        for b, bb in zip(titles[i + 1:], boxes[i + 1:]):
            assert not ba.overlaps(bb), (a.get_text(), b.get_text())


def test_an_existing_picture_is_replaced_only_with_force(tmp_path, capsys):
    """`plot --out k.png` wrote over an existing k.png unasked (the default name, kernels.png, too)."""
    out = tmp_path / 'k.png'
    out.write_bytes(b'a figure of the user')
    argv = ['plot', 'smpconv_tcn_gunpoint.aeon', '--out', str(out), '--size', '800x500']
    assert main(argv) == 1
    assert capsys.readouterr().err.strip().endswith(f'--out {out} exists; add --force to replace it')
    assert out.read_bytes() == b'a figure of the user'
    assert main(argv + ['--force']) == 0  # the hint, as printed
    _pixels(out, (800, 500))
    (tmp_path / 'afile').write_text('x')
    assert main(['plot', 'smpconv_tcn_gunpoint.aeon', '--out', str(tmp_path / 'afile' / 'x.png')]) == 1
    assert 'is a file, not a folder' in capsys.readouterr().err


def test_plot_refuses_options_that_would_do_nothing_or_name_no_file(tmp_path, capsys):
    # --length on an image model was ignored silently; --out '' was reported as --out .
    assert main(['plot', 'smpconvnet_t', '--model-kwargs', 'layers=(1,1,1,1)', '--length', '5',
                 '--out', str(tmp_path / 'k.png')]) == 1
    assert '--length 5: smpconvnet_t is an image model' in capsys.readouterr().err
    assert not (tmp_path / 'k.png').exists()
    assert main(['plot', 'smpconv_tcn_gunpoint.aeon', '--out', '']) == 1
    assert "--out '': the picture's file name is empty" in capsys.readouterr().err
    # on kernels of a fixed length (OSULeaf's 32 taps) --length drew the same picture; at 1 an empty one, where the
    # models take at least 2 steps
    out = str(tmp_path / 's.png')
    assert main(['plot', 'smpconv_tcn_osuleaf.aeon', '--length', '100', '--out', out]) == 1
    assert "--length 100: smpconv_tcn_osuleaf.aeon's kernels have 32 taps whatever the input length" in \
        capsys.readouterr().err
    assert main(['plot', 'smpconv_tcn_gunpoint.aeon', '--length', '1', '--out', out]) == 1
    assert '--length 1: expected the number of taps to sample the kernels at, at least 2' in capsys.readouterr().err
    assert not (tmp_path / 's.png').exists()
    assert main(['plot', 'smpconv_tcn_gunpoint.aeon', '--length', '100', '--out', out]) == 0  # whole-series kernels
    assert (tmp_path / 's.png').exists()


def test_the_pictures_title_names_weights_without_their_directories(tmp_path, monkeypatch):
    """Trial 57: the title gave the absolute path of the weights file (a picture may be shared, as a card may)."""
    from matplotlib.figure import Figure
    from safetensors.torch import save_file
    figures = []
    save = Figure.savefig
    monkeypatch.setattr(Figure, 'savefig', lambda self, *a, **k: (figures.append(self), save(self, *a, **k))[1])
    save_file(timm.create_model('smpconv_tcn_gunpoint', num_blocks=1, hidden_channels=4).state_dict(),
              str(tmp_path / 'w.safetensors'))
    assert main(['plot', 'smpconv_tcn_gunpoint', '--out', str(tmp_path / 't.png'), '--pretrained', 'no',
                 '--model-kwargs', 'num_blocks=1',
                 'hidden_channels=4', f'checkpoint_path={tmp_path / "w.safetensors"}']) == 0
    title = figures[0]._suptitle.get_text()
    assert 'weights from w.safetensors' in title and str(tmp_path) not in title.replace('\n', '')
