"""Sequence data for the SMP-TCN models: UEA/UCR benchmarks from ``aeon``, preprocessing, variable-length batches,
and the adding problem.

A classification set is held as a list of float32 tensors ``[C, L_i]`` (true lengths kept) plus integer labels.
Batches are right-padded with zeros to a *fixed* length (the longest sequence of the data set, recorded as the
model's input length) and come with the true lengths: the SMP kernel is sampled on a grid as long as the
input, so padding every batch to the same length keeps the kernel, and therefore every prediction,
independent of which other samples share the batch. The model reads its logits at step ``lengths[b] - 1``;
causality makes the padding after that step irrelevant.

``aeon`` is an optional dependency (``pip install smpconvnet[data]``): it ships the UEA/UCR files in its wheel,
so loading works offline.
"""
import math
import os
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F

__all__ = [
    'SequenceSet', 'load_aeon', 'label_order', 'channel_stats', 'standardize', 'pad_batch', 'batches',
    'stratified_split', 'stratified_kfold', 'augment_batch', 'make_adding_problem', 'ADDING_BASELINE_MSE', 'export_aeon_cache',
    'DATA_CACHE_ENV', 'AEON_OFFLINE_SETS', 'UnknownLabelsError',
]

# A folder of ``<name>_<split>.pt`` files written by :func:`export_aeon_cache`, read instead of aeon when set:
# for machines without aeon (a GPU box, a container) that should see exactly the same data.
DATA_CACHE_ENV = 'SMPCONVNET_SEQ_DATA_CACHE'

# predicting the mean (1.0) of the sum of two U(0, 1) numbers: variance 2 / 12
ADDING_BASELINE_MSE = 1.0 / 6.0


class UnknownLabelsError(ValueError):
    """A split has labels outside the label order it was loaded with (:func:`load_aeon`'s ``label_names``: a model's
    classes). ``labels``: the labels not in it; ``label_names``: the order."""

    def __init__(self, message: str, labels: List[str], label_names: List[str]):
        super().__init__(message)
        self.labels = labels
        self.label_names = label_names


@dataclass
class SequenceSet:
    """Sequences ``[C, L_i]`` (float32, true lengths) with targets (class indices, or floats for regression)."""
    sequences: List[torch.Tensor]
    targets: torch.Tensor
    label_names: Optional[List[str]] = None
    name: str = ''
    info: Dict = field(default_factory=dict)

    def __post_init__(self):
        if len(self.sequences) != len(self.targets):
            raise ValueError(f'{len(self.sequences)} sequences but {len(self.targets)} targets')
        if not self.sequences:
            raise ValueError('a sequence set needs at least one sequence')
        chans = {s.shape[0] for s in self.sequences}
        if len(chans) != 1 or any(s.dim() != 2 for s in self.sequences):
            raise ValueError(f'expected sequences of shape [C, L] with one channel count C, got channel counts {chans}')

    def __len__(self) -> int:
        return len(self.sequences)

    @property
    def num_channels(self) -> int:
        return self.sequences[0].shape[0]

    @property
    def lengths(self) -> torch.Tensor:
        return torch.tensor([s.shape[1] for s in self.sequences], dtype=torch.long)

    @property
    def max_length(self) -> int:
        return int(self.lengths.max())

    def subset(self, indices: Sequence[int]) -> 'SequenceSet':
        indices = list(indices)
        return SequenceSet([self.sequences[i] for i in indices], self.targets[indices], self.label_names,
                           self.name, dict(self.info))


# the UEA/UCR classification sets whose files are in the aeon wheel (aeon/datasets/data/): readable offline; any
# other name makes aeon try a download
AEON_OFFLINE_SETS = ('ACSF1', 'ArrowHead', 'BasicMotions', 'GunPoint', 'ItalyPowerDemand', 'JapaneseVowels',
                     'OSULeaf', 'PickupGestureWiimoteZ')


def _require_aeon():
    try:
        from aeon.datasets import load_classification
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise RuntimeError('loading UEA/UCR data sets needs the optional dependency aeon: '
                           'pip install "smpconvnet[data]"') from e
    return load_classification


def _load_raw(name: str, split: str):
    cache = os.environ.get(DATA_CACHE_ENV)
    if cache:
        path = os.path.join(cache, f'{name}_{split}.pt')
        if not os.path.isfile(path):
            raise FileNotFoundError(f'{DATA_CACHE_ENV} is set but {path} does not exist')
        raw = torch.load(path, weights_only=True)
        return raw['sequences'], list(raw['labels'])
    load_classification = _require_aeon()
    try:
        X, y = load_classification(name, split=split)
    except Exception as e:  # aeon raises various errors for unknown names (and tries to download them)
        close = [n for n in AEON_OFFLINE_SETS if n.lower() == name.lower()]
        hint = (f"; did you mean {close[0]!r}? (names are case-sensitive)" if close else
                f"; the classification sets in the aeon wheel, readable offline: {', '.join(AEON_OFFLINE_SETS)}")
        if not close and (os.sep in name or '/' in name or os.path.splitext(name)[1] or os.path.exists(name)):
            # a file or folder of the user's own series: aeon named only its download list
            hint += ('; a data set is named, not a file: train-seq and evaluate-seq read UEA/UCR sets through aeon; '
                     'for your own series build the model with timm.create_model and train it in Python '
                     '(docs/sequence-models.md, "Training on your own series")')
        raise ValueError(f'could not load the aeon classification data set {name!r} ({split} split) offline: '
                         f'{e}{hint}') from e
    return X, [str(v) for v in y]


def export_aeon_cache(names: Sequence[str], folder: str):
    """Write the raw train/test splits of aeon data sets to ``folder`` for use through ``SMPCONVNET_SEQ_DATA_CACHE``."""
    os.makedirs(folder, exist_ok=True)
    load_classification = _require_aeon()
    for name in names:
        for split in ('train', 'test'):
            X, y = load_classification(name, split=split)
            raw = {'sequences': [torch.as_tensor(x, dtype=torch.float64).clone() for x in X],
                   'labels': [str(v) for v in y]}
            tmp = os.path.join(folder, f'.{name}_{split}.pt.tmp')
            torch.save(raw, tmp)
            os.replace(tmp, os.path.join(folder, f'{name}_{split}.pt'))


def label_order(labels: Sequence[str]) -> List[str]:
    """A deterministic order of the distinct labels: numeric when every label is a number, else lexicographic."""
    distinct = sorted({str(v) for v in labels})
    try:
        return sorted(distinct, key=float)
    except ValueError:
        return distinct


def load_aeon(name: str, split: str, label_names: Optional[List[str]] = None) -> SequenceSet:
    """Load one split of a UEA/UCR classification set shipped with aeon (offline).

    ``label_names`` fixes the class order (pass the training split's order when loading the test split);
    by default it is :func:`label_order` of this split's labels.

    Raises:
        UnknownLabelsError: (a ``ValueError``) the split has labels that ``label_names`` lacks.
        ValueError: ``split`` is not 'train' or 'test', or the split has missing values.
    """
    if split not in ('train', 'test'):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    X, labels = _load_raw(name, split)
    if label_names is None:
        label_names = label_order(labels)
    index = {n: i for i, n in enumerate(label_names)}
    unknown = sorted(set(labels) - set(index))
    if unknown:
        raise UnknownLabelsError(f'{name} {split} split has labels {unknown} not in the label order {label_names}',
                                 unknown, list(label_names))
    # X is an array [N, C, L] for equal-length sets, a list of [C, L_i] arrays for variable-length ones
    sequences = [torch.as_tensor(x, dtype=torch.float32).clone() for x in X]
    for s in sequences:
        if not torch.isfinite(s).all():
            raise ValueError(f'{name} {split} split contains missing values (NaN); this loader expects complete series')
    targets = torch.tensor([index[v] for v in labels], dtype=torch.long)
    return SequenceSet(sequences, targets, list(label_names), name=name)


def channel_stats(data: SequenceSet) -> Tuple[List[float], List[float]]:
    """Per-channel mean and standard deviation over every sample and every (true, unpadded) step."""
    values = torch.cat([s.double() for s in data.sequences], dim=1)  # [C, sum L_i]
    mean = values.mean(dim=1)
    std = values.std(dim=1, unbiased=False).clamp_min(1e-8)
    return mean.tolist(), std.tolist()


def standardize(data: SequenceSet, mean: Sequence[float], std: Sequence[float]) -> SequenceSet:
    """Per-channel standardisation with given (training-set) statistics."""
    if len(mean) != data.num_channels or len(std) != data.num_channels:
        raise ValueError(f'expected {data.num_channels} per-channel mean/std values, got {len(mean)} and {len(std)}')
    m = torch.tensor(mean, dtype=torch.float64).view(-1, 1)
    s = torch.tensor(std, dtype=torch.float64).view(-1, 1)
    seqs = [((x.double() - m) / s).float() for x in data.sequences]
    return SequenceSet(seqs, data.targets, data.label_names, data.name, dict(data.info))


def pad_batch(sequences: Sequence[torch.Tensor], length: Optional[int] = None) -> Tuple[torch.Tensor, torch.Tensor]:
    """Right-pad ``[C, L_i]`` sequences with zeros to ``length`` (default: the longest): ``(x [B, C, L], lengths [B])``."""
    lengths = torch.tensor([s.shape[1] for s in sequences], dtype=torch.long)
    length = int(lengths.max()) if length is None else int(length)
    if int(lengths.max()) > length:
        raise ValueError(f'a sequence of length {int(lengths.max())} does not fit the padded length {length}')
    x = sequences[0].new_zeros(len(sequences), sequences[0].shape[0], length)
    for i, s in enumerate(sequences):
        x[i, :, :s.shape[1]] = s
    return x, lengths


def batches(data: SequenceSet, batch_size: int, length: int, generator: Optional[torch.Generator] = None,
            shuffle: bool = False, drop_last: bool = False):
    """Yield ``(x, lengths, targets)`` batches padded to ``length``; shuffled with ``generator`` when asked."""
    n = len(data)
    order = torch.randperm(n, generator=generator).tolist() if shuffle else list(range(n))
    stop = n - n % batch_size if drop_last and n >= batch_size else n
    for start in range(0, stop, batch_size):
        idx = order[start:start + batch_size]
        x, lengths = pad_batch([data.sequences[i] for i in idx], length)
        yield x, lengths, data.targets[idx]


def num_batches(n: int, batch_size: int, drop_last: bool = False) -> int:
    return n // batch_size if drop_last and n >= batch_size else math.ceil(n / batch_size)


def stratified_split(targets: torch.Tensor, fraction: float, generator: torch.Generator) -> Tuple[List[int], List[int]]:
    """Indices ``(train, held_out)``: about ``fraction`` of every class held out (at least one per class with 2+)."""
    if not 0 < fraction < 1:
        raise ValueError(f'the validation fraction must be in (0, 1), got {fraction}')
    train, held = [], []
    for c in torch.unique(targets).tolist():
        idx = torch.nonzero(targets == c).flatten()
        idx = idx[torch.randperm(len(idx), generator=generator)].tolist()
        k = int(round(fraction * len(idx)))
        k = min(max(k, 1 if len(idx) > 1 else 0), len(idx) - 1)
        held += idx[:k]
        train += idx[k:]
    return sorted(train), sorted(held)


def stratified_kfold(targets: torch.Tensor, folds: int, fold: int,
                     generator: torch.Generator) -> Tuple[List[int], List[int]]:
    """Indices ``(train, held_out)`` of fold ``fold`` (0-based) of a stratified ``folds``-fold split: each class's
    samples, shuffled by ``generator``, are dealt to the folds in turn, so every fold holds about ``1 / folds`` of
    every class and the ``folds`` held-out parts partition the data. The same generator seed gives the same
    partition for every ``fold``.

    Raises:
        ValueError: ``folds < 2``, ``fold`` outside ``[0, folds)``, or more folds than samples.
    """
    if folds < 2 or not 0 <= fold < folds:
        raise ValueError(f'cross-validation needs folds >= 2 and 0 <= fold < folds, got folds={folds}, fold={fold}')
    if folds > len(targets):
        raise ValueError(f'{folds} folds for {len(targets)} samples: every fold needs at least one sample')
    assignment = torch.empty(len(targets), dtype=torch.long)
    offset = 0
    for c in torch.unique(targets).tolist():
        idx = torch.nonzero(targets == c).flatten()
        idx = idx[torch.randperm(len(idx), generator=generator)]
        # classes continue where the previous one stopped, so small classes do not all land in fold 0
        assignment[idx] = (torch.arange(len(idx)) + offset) % folds
        offset += len(idx)
    held = torch.nonzero(assignment == fold).flatten().tolist()
    train = torch.nonzero(assignment != fold).flatten().tolist()
    return train, held


def augment_batch(x: torch.Tensor, lengths: torch.Tensor, generator: torch.Generator, scale: float = 0.1,
                  jitter: float = 0.03, shift: float = 0.0, warp: float = 0.0, flip: float = 0.0) -> torch.Tensor:
    """Light time-series augmentation on a padded batch: per-sample amplitude scaling ``N(1, scale)``, Gaussian
    jitter of std ``jitter`` and, for equal-length data, window slicing (a random window of ``1 - warp`` to all of
    the length, stretched back to the full length by linear interpolation: a random crop and time dilation) and a
    random circular shift of up to ``shift`` of the length. ``flip``: the probability that a sample's valid steps
    are reversed in time (any lengths; an outline traced the other way round is its mirror image, so on sets of
    outlines it is what a horizontal flip is to images). Padding stays zero.

    Args:
        x: ``[B, C, L]`` series, right-padded with zeros past ``lengths``.
        lengths: ``[B]`` valid steps of each sample.
        generator: the source of every random draw (a draw is made only for an option that is on, so adding one
            leaves the others' draws unchanged).

    Returns:
        ``[B, C, L]``, a new tensor.
    """
    b, c, length = x.shape
    mask = (torch.arange(length).view(1, 1, -1) < lengths.view(-1, 1, 1)).to(x.dtype)
    if flip > 0:
        # step t of a flipped sample reads step n - 1 - t of its n valid ones; padding reads itself (masked below)
        flipped = torch.rand(b, generator=generator) < flip
        steps = torch.arange(length).expand(b, length)
        source = torch.where(flipped.view(-1, 1) & (steps < lengths.view(-1, 1)), lengths.view(-1, 1) - 1 - steps,
                             steps)
        x = x.gather(2, source.unsqueeze(1).expand(b, c, length))
    if warp > 0:
        keep = (length * (1 - warp * torch.rand(b, generator=generator))).round().long().clamp(2, length).tolist()
        starts = [int(torch.randint(0, length - k + 1, (1,), generator=generator)) for k in keep]
        x = torch.cat([F.interpolate(xi[None, :, s:s + k], size=length, mode='linear', align_corners=True)
                       for xi, s, k in zip(x, starts, keep)])
    if scale > 0:
        x = x * (1 + scale * torch.randn(b, 1, 1, generator=generator))
    if jitter > 0:
        x = x + jitter * torch.randn(x.shape, generator=generator)
    if shift > 0:
        max_shift = int(shift * length)
        if max_shift > 0:
            shifts = torch.randint(-max_shift, max_shift + 1, (b,), generator=generator).tolist()
            x = torch.stack([torch.roll(xi, s, dims=-1) for xi, s in zip(x, shifts)])
    return x * mask


def make_adding_problem(n: int, length: int, generator: torch.Generator) -> Tuple[torch.Tensor, torch.Tensor]:
    """The adding problem (Hochreiter & Schmidhuber 1997): ``x [n, 2, length]`` holds uniform values and a marker
    channel with one 1 in each half; the target is the sum of the two marked values. Predicting the mean gives
    an MSE of 1/6 (:data:`ADDING_BASELINE_MSE`)."""
    if length < 2:
        raise ValueError(f'the adding problem needs length >= 2, got {length}')
    values = torch.rand(n, length, generator=generator)
    half = length // 2
    first = torch.randint(0, half, (n,), generator=generator)
    second = torch.randint(half, length, (n,), generator=generator)
    markers = torch.zeros(n, length)
    rows = torch.arange(n)
    markers[rows, first] = 1.0
    markers[rows, second] = 1.0
    x = torch.stack([values, markers], dim=1)
    y = values[rows, first] + values[rows, second]
    return x, y
