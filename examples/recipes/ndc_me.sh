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
if [ $# -lt 3 ]; then
  echo "usage: $0 CLASS_FOLDERS_DIR PRETRAINED_MODEL OUTPUT_DIR [run_finetune.py flags]" >&2
  exit 2
fi
source_dir=$1 model=$2 out=$3
shift 3
examples=$(dirname "$0")/..

${SOCIAL_MAE:-social-mae} manifest folders "$source_dir" "$out/manifests" --overwrite
${PYTHON:-python} "$examples/run_finetune.py" \
  --model_name_or_path "$model" \
  --train_file "$out/manifests/train.csv" \
  --validation_file "$out/manifests/validation.csv" \
  --test_file "$out/manifests/test.csv" \
  --task classification \
  --output_dir "$out/run" \
  --do_train --do_eval --do_predict \
  --num_train_epochs 10 \
  --per_device_train_batch_size 8 \
  --per_device_eval_batch_size 8 \
  --learning_rate 1e-5 \
  --head_learning_rate 1e-4 \
  --lr_scheduler_type constant \
  --weight_decay 0 \
  --eval_strategy epoch \
  --save_strategy epoch \
  --save_total_limit 2 \
  --load_best_model_at_end \
  --metric_for_best_model f1_macro \
  --report_to none \
  "$@"
