# Sourced by the paper's recipes: their arguments, and the fine-tuning protocol the Social-MAE paper uses for every
# downstream task (crema_d.sh, first_impressions.sh, ndc_me.sh).

# needs_arguments COUNT USAGE: stop with the usage line unless the recipe was given its 3 arguments.
needs_arguments() {
  if [ "$1" -lt 3 ]; then
    echo "usage: $0 $2" >&2
    exit 2
  fi
}

# paper_finetune MODEL OUT EPOCHS LEARNING_RATE HEAD_LEARNING_RATE METRIC [run_finetune.py flags]: fine-tune MODEL on
# OUT/manifests/{train,validation,test}.csv into OUT/run: batch 8, constant learning rates (LEARNING_RATE for the
# encoder, HEAD_LEARNING_RATE for the head) without weight decay, one evaluation and checkpoint per epoch, the best
# by METRIC kept, then the test split predicted. Later flags win over these.
paper_finetune() {
  local model=$1 out=$2 epochs=$3 learning_rate=$4 head_learning_rate=$5 metric=$6
  shift 6
  ${PYTHON:-python} "$(dirname "$0")/../run_finetune.py" \
    --model_name_or_path "$model" \
    --train_file "$out/manifests/train.csv" \
    --validation_file "$out/manifests/validation.csv" \
    --test_file "$out/manifests/test.csv" \
    --output_dir "$out/run" \
    --do_train --do_eval --do_predict \
    --num_train_epochs "$epochs" \
    --per_device_train_batch_size 8 \
    --per_device_eval_batch_size 8 \
    --learning_rate "$learning_rate" \
    --head_learning_rate "$head_learning_rate" \
    --lr_scheduler_type constant \
    --weight_decay 0 \
    --eval_strategy epoch \
    --save_strategy epoch \
    --save_total_limit 2 \
    --load_best_model_at_end \
    --metric_for_best_model "$metric" \
    --report_to none \
    "$@"
}
