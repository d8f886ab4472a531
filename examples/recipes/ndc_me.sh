#!/usr/bin/env bash
# Smiles and laughter, NDC-ME style (Table III): 3 classes (smile, laughter, neutral) of face-cropped clips of
# 1.22 s, 10 epochs, batch 8, learning rates 1e-5 (backbone) and 1e-4 (head), cross-entropy, no masking.
# NDC-ME is not public; any clips in one folder per class work (`social-mae manifest folders`):
# CLIPS/laughter/*.mp4, CLIPS/smile/*.mp4, CLIPS/neutral/*.mp4, or CLIPS/{train,validation,test}/<class>/*.mp4.
# Without split folders the clips are split 0.8/0.1/0.1 per class: keep one person's clips in one split by using
# split folders when a person has several clips.
#
#   examples/recipes/ndc_me.sh CLIPS/ ./social-mae out/laughter [more run_finetune.py flags]
#
# Read test_f1_macro and test_f1_micro in OUT/run/all_results.json; the paper reports "F1" without saying which
# average: audiovisual 0.776, audio 0.546, visual 0.728.
set -euo pipefail
. "$(dirname "$0")/paper_protocol.sh"
needs_arguments $# "CLASS_FOLDERS_DIR PRETRAINED_MODEL OUTPUT_DIR [run_finetune.py flags]"
source_dir=$1 model=$2 out=$3
shift 3

${SOCIAL_MAE:-social-mae} manifest folders "$source_dir" "$out/manifests" --overwrite
paper_finetune "$model" "$out" 10 1e-5 1e-4 f1_macro --task classification "$@"
