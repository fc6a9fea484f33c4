#!/usr/bin/env bash
# One epoch of stock timm train.py with an SMPConvNet recipe, then timm validate.py on the checkpoint it wrote.
#
#   scripts/train_timm_one_epoch.sh TIMM_CHECKOUT IMAGE_FOLDER [extra train.py arguments]
#
# TIMM_CHECKOUT: a clone of github.com/huggingface/pytorch-image-models (its train.py and validate.py run
# unchanged). IMAGE_FOLDER: an ImageFolder root with train/ and (optionally) val/ or validation/ holding one
# sub-folder per class. The recipe is used as shipped except: one epoch (no warm-up), a reduced batch without
# accumulation, and the number of classes found in train/. Extra arguments go to train.py last, so they win,
# e.g. for a CPU smoke test on small images:
#   scripts/train_timm_one_epoch.sh ~/pytorch-image-models /data/tiny --device cpu --input-size 3 64 64 \
#       --model-kwargs "layers=(1,1,1,1)" "channels=(16,32,64,128)"
# Environment: MODEL (smpconvnet_t | smpconvnet_b, default smpconvnet_t), BATCH (default 32),
# WORKERS (default 4), OUTPUT (default ./output/train_timm_one_epoch), PYTHON (default python).
# Not run by the test suite (CI has no timm checkout).
set -euo pipefail

if [ $# -lt 2 ]; then
    sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
fi
TIMM=$(cd "$1" && pwd)
DATA=$(cd "$2" && pwd)
shift 2
MODEL=${MODEL:-smpconvnet_t}
BATCH=${BATCH:-32}
WORKERS=${WORKERS:-4}
OUTPUT=${OUTPUT:-./output/train_timm_one_epoch}
PYTHON=${PYTHON:-python}

for f in train.py validate.py; do
    [ -f "$TIMM/$f" ] || { echo "error: $TIMM/$f not found: TIMM_CHECKOUT must be a pytorch-image-models clone" >&2; exit 1; }
done
[ -d "$DATA/train" ] || { echo "error: $DATA/train not found: IMAGE_FOLDER needs train/<class>/<images>" >&2; exit 1; }
NUM_CLASSES=$(find -L "$DATA/train" -mindepth 1 -maxdepth 1 -type d | wc -l)
[ "$NUM_CLASSES" -ge 2 ] || { echo "error: $DATA/train needs at least 2 class folders, found $NUM_CLASSES" >&2; exit 1; }
VAL_SPLIT=""
for d in val validation; do
    if [ -d "$DATA/$d" ]; then VAL_SPLIT=$d; break; fi
done

mkdir -p "$OUTPUT"
RECIPE="$OUTPUT/${MODEL}_in1k.yaml"
"$PYTHON" -m smpconvnet recipe "${MODEL}_in1k" --output "$RECIPE" --force
EXPERIMENT="one_epoch_$(date +%Y%m%d-%H%M%S)"

echo "== train.py: $MODEL, recipe $RECIPE, $NUM_CLASSES classes, batch $BATCH, 1 epoch" >&2
"$PYTHON" -m smpconvnet train --train-script "$TIMM/train.py" -- \
    --config "$RECIPE" --data-dir "$DATA" --val-split "$VAL_SPLIT" --num-classes "$NUM_CLASSES" \
    -b "$BATCH" --grad-accum-steps 1 --epochs 1 --warmup-epochs 0 --workers "$WORKERS" \
    --output "$OUTPUT" --experiment "$EXPERIMENT" "$@"

CHECKPOINT="$OUTPUT/$EXPERIMENT/last.pth.tar"
[ -f "$CHECKPOINT" ] || { echo "error: train.py wrote no $CHECKPOINT" >&2; exit 1; }
echo "== wrote $CHECKPOINT" >&2

if [ -n "$VAL_SPLIT" ]; then
    # validate.py takes train.py's model options; keep those given here (--model-kwargs, --input-size, --device)
    VAL_ARGS=()
    while [ $# -gt 0 ]; do
        case "$1" in
            --device|--img-size|--crop-pct|--interpolation) VAL_ARGS+=("$1" "$2"); shift 2 ;;
            --input-size) VAL_ARGS+=("$1" "$2" "$3" "$4"); shift 4 ;;
            --model-kwargs) VAL_ARGS+=("$1"); shift
                while [ $# -gt 0 ] && [ "${1#--}" = "$1" ]; do VAL_ARGS+=("$1"); shift; done ;;
            *) shift ;;
        esac
    done
    echo "== validate.py: EMA weights of $CHECKPOINT, re-parameterised" >&2
    "$PYTHON" -m smpconvnet validate --validate-script "$TIMM/validate.py" -- \
        --data-dir "$DATA" --split "$VAL_SPLIT" --model "$MODEL" --num-classes "$NUM_CLASSES" \
        --checkpoint "$CHECKPOINT" --use-ema --reparam -b "$BATCH" --workers "$WORKERS" "${VAL_ARGS[@]}"
fi
