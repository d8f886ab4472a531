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
if [ $# -lt 3 ]; then
  echo "usage: $0 CREMA_D_DIR PRETRAINED_MODEL OUTPUT_DIR [run_finetune.py flags]" >&2
  exit 2
fi
source_dir=$1 model=$2 out=$3
shift 3
examples=$(dirname "$0")/..

${SOCIAL_MAE:-social-mae} manifest crema-d "$source_dir" "$out/manifests" --overwrite
${PYTHON:-python} "$examples/run_finetune.py" \
  --model_name_or_path "$model" \
  --train_file "$out/manifests/train.csv" \
  --validation_file "$out/manifests/validation.csv" \
  --test_file "$out/manifests/test.csv" \
  --task classification \
  --output_dir "$out/run" \
  --do_train --do_eval --do_predict \
  --num_train_epochs 20 \
  --per_device_train_batch_size 8 \
  --per_device_eval_batch_size 8 \
  --learning_rate 1e-4 \
  --head_learning_rate 1e-5 \
  --lr_scheduler_type constant \
  --weight_decay 0 \
  --eval_strategy epoch \
  --save_strategy epoch \
  --save_total_limit 2 \
  --load_best_model_at_end \
  --metric_for_best_model f1_macro \
  --report_to none \
  "$@"
