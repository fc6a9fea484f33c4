#!/usr/bin/env bash
# timm's own model test suite (tests/test_models.py of the installed timm version) on this project's models.
#
#   scripts/timm_model_tests.sh [extra pytest arguments]
#
# Fetches timm's source distribution for the installed version from the package index (pip download, no
# dependencies; cached in TIMM_TESTS_CACHE, default ~/.cache/smpconvnet/timm-tests), unpacks its tests/ and runs
#   python -m pytest -p smpconvnet -p smpconv_models_under_test <timm tests>/test_models.py -k smpconv
# (-p smpconvnet registers the models with timm, as `import smpconvnet` does; the second plugin, from
# tests/timm_plugins, two untrained models reached only through constructor arguments: a 3-member ensemble,
# smpconv_tcn_ensemble_test, and a centred SMP-TCN, smpconv_tcn_centred_test). Deselected: the pretrained-weight
# tests of smpconvnet_t.in1k and smpconvnet_b.in1k, whose weights are not published. About 5 minutes on 2 cores.
# .ci/run runs it after the project's own tests.
set -euo pipefail

PYTHON=${PYTHON:-python}
version=$("$PYTHON" -c 'import timm; print(timm.__version__)')
cache=${TIMM_TESTS_CACHE:-$HOME/.cache/smpconvnet/timm-tests}/$version
tests=$cache/timm-$version/tests
if [ ! -f "$tests/test_models.py" ]; then
    mkdir -p "$cache"
    "$PYTHON" -m pip download --quiet --no-deps --no-binary :all: --dest "$cache" "timm==$version"
    tar -xzf "$cache/timm-$version.tar.gz" -C "$cache" "timm-$version/tests"
fi
# run from the unpacked tests (their conftest.py), not from this checkout; the plugin in tests/timm_plugins registers
# a 3-member SMPConvTCNEnsemble, a centred and a zero-padding SMP-TCN for this run, so that the suite checks them too
plugins=$(cd "$(dirname "$0")/../tests/timm_plugins" && pwd)
cd "$tests"
PYTHONPATH="$plugins${PYTHONPATH:+:$PYTHONPATH}" exec "$PYTHON" -m pytest -p smpconvnet -p smpconv_models_under_test \
    test_models.py -q -W ignore -rf \
    -k 'smpconv and not ((test_model_load_pretrained or test_model_features_pretrained) and in1k)' "$@"
