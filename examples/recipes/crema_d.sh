#!/usr/bin/env bash
# CREMA-D emotion recognition, as the Social-MAE paper (Table I): 6 classes, 20 epochs, batch 8, learning rates
# 1e-4 (encoder) and 1e-5 (head), cross-entropy, no masking; actor-independent splits.
#
#   examples/recipes/crema_d.sh CREMA-D/ ./social-mae out/crema-d [more run_finetune.py flags, e.g. --modality audio]
#
# CREMA-D/ is the dataset as it unpacks (VideoFlash/ or VideoMP4/, AudioWAV/); ./social-mae a converted pretrained
# Social-MAE (`social-mae convert`). Read test_f1_micro / test_f1_macro in OUT/run/all_results.json; the paper:
# audiovisual 0.837 / 0.842, audio (--modality audio) 0.601 / 0.607, visual (--modality video) 0.749 / 0.755.
set -euo pipefail
. "$(dirname "$0")/paper_protocol.sh"
needs_arguments $# "CREMA_D_DIR PRETRAINED_MODEL OUTPUT_DIR [run_finetune.py flags]"
source_dir=$1 model=$2 out=$3
shift 3

${SOCIAL_MAE:-social-mae} manifest crema-d "$source_dir" "$out/manifests" --overwrite
paper_finetune "$model" "$out" 20 1e-4 1e-5 f1_macro --task classification "$@"
