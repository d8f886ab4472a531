#!/usr/bin/env bash
# Social-MAE pretraining on VoxCeleb2, as the paper: 25 epochs, learning rate 1e-4 halved every 5 epochs, 75 % of
# the tokens of each modality masked, contrastive weight 0.01, starting from converted CAV-MAE scale+ weights with
# the video patch embedding and positions re-initialised (8 frames in tubelets of 2).
#
#   examples/recipes/pretrain_voxceleb2.sh VoxCeleb2/ ./cav-mae-scale-plus out/pretrain [more run_pretrain.py flags]
#
# VoxCeleb2/ holds dev/mp4/, dev/aac/ (and test/ if you have it). The clips are packed into shards once
# (`social-mae shard`); the Trainer has no step schedule, so the 25 epochs run as 5 stages of 5 epochs, each
# starting from the last one's model with half its learning rate (Adam's moments restart with each stage).
# Environment: VALIDATION_SPEAKERS (default 50) dev/ speakers held out; BATCH_SIZE per device (default 8: the
# paper does not state it); SHARD_WORKERS (default 8).
# Read eval_audio_reconstruction_loss, eval_video_reconstruction_loss and eval_contrastive_accuracy in each stage's
# all_results.json; the paper reports no pretraining numbers, only the fine-tuned results of the other recipes.
set -euo pipefail
. "$(dirname "$0")/paper_protocol.sh"
needs_arguments $# "VOXCELEB2_DIR CAV_MAE_MODEL OUTPUT_DIR [run_pretrain.py flags]"
source_dir=$1 model=$2 out=$3
shift 3
examples=$(dirname "$0")/..

${SOCIAL_MAE:-social-mae} manifest voxceleb2 "$source_dir" "$out/manifests" --overwrite \
  --validation-speakers "${VALIDATION_SPEAKERS:-50}"
${SOCIAL_MAE:-social-mae} shard "$out/shards" --task pretraining --audio-column audio \
  --train-file "$out/manifests/train.csv" --validation-file "$out/manifests/validation.csv" \
  --num-workers "${SHARD_WORKERS:-8}" --overwrite --quiet

start=(--model_name_or_path "$model" --config_overrides num_frames=8,tubelet_size=2 --video_init reinit)
learning_rate=1e-4
for stage in 1 2 3 4 5; do
  ${PYTHON:-python} "$examples/run_pretrain.py" \
    "${start[@]}" \
    --train_shards "$out/shards/train" \
    --validation_shards "$out/shards/validation" \
    --output_dir "$out/stage$stage" \
    --do_train --do_eval \
    --num_train_epochs 5 \
    --learning_rate "$learning_rate" \
    --lr_scheduler_type constant \
    --weight_decay 0 \
    --audio_mask_ratio 0.75 \
    --video_mask_ratio 0.75 \
    --contrastive_loss_weight 0.01 \
    --per_device_train_batch_size "${BATCH_SIZE:-8}" \
    --per_device_eval_batch_size "${BATCH_SIZE:-8}" \
    --save_strategy epoch \
    --save_total_limit 1 \
    --report_to none \
    "$@"
  start=(--model_name_or_path "$out/stage$stage")
  learning_rate=$(python3 -c "print($learning_rate / 2)")
done
