#!/usr/bin/env bash
# ChaLearn First Impressions V2, big-five regression, as the Social-MAE paper (Table II): 10 epochs, batch 8,
# learning rates 1e-4 (encoder) and 1e-5 (head), L1 loss (the regression heads' default); the official splits.
#
#   examples/recipes/first_impressions.sh first-impressions/ ./social-mae out/first-impressions [more flags]
#
# first-impressions/ holds the unpacked train/validation/test clips and annotation_{training,validation,test}.pkl.
# Read test_one_minus_mae_<trait> and test_one_minus_mae (their mean) in OUT/run/all_results.json; the paper:
# openness 0.908, conscientiousness 0.902, extraversion 0.895, agreeableness 0.907, neuroticism 0.905, mean 0.903.
set -euo pipefail
if [ $# -lt 3 ]; then
  echo "usage: $0 FIRST_IMPRESSIONS_DIR PRETRAINED_MODEL OUTPUT_DIR [run_finetune.py flags]" >&2
  exit 2
fi
source_dir=$1 model=$2 out=$3
shift 3
examples=$(dirname "$0")/..

${SOCIAL_MAE:-social-mae} manifest first-impressions "$source_dir" "$out/manifests" --overwrite
${PYTHON:-python} "$examples/run_finetune.py" \
  --model_name_or_path "$model" \
  --train_file "$out/manifests/train.csv" \
  --validation_file "$out/manifests/validation.csv" \
  --test_file "$out/manifests/test.csv" \
  --task regression \
  --target_columns openness,conscientiousness,extraversion,agreeableness,neuroticism \
  --output_dir "$out/run" \
  --do_train --do_eval --do_predict \
  --num_train_epochs 10 \
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
  --metric_for_best_model one_minus_mae \
  --report_to none \
  "$@"
