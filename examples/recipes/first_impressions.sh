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
. "$(dirname "$0")/paper_protocol.sh"
needs_arguments $# "FIRST_IMPRESSIONS_DIR PRETRAINED_MODEL OUTPUT_DIR [run_finetune.py flags]"
source_dir=$1 model=$2 out=$3
shift 3

${SOCIAL_MAE:-social-mae} manifest first-impressions "$source_dir" "$out/manifests" --overwrite
paper_finetune "$model" "$out" 10 1e-4 1e-5 one_minus_mae --task regression \
  --target_columns openness,conscientiousness,extraversion,agreeableness,neuroticism "$@"
