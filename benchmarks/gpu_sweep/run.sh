#!/usr/bin/env bash
# Train sweep.py's variants at once on the lent GPU: bash run.sh SECONDS VARIANT...
# Run from the repository root with MNIST's .gz files in ./data (carried); weights go to $OUT,
# logs to $LOGS (default /tmp/logs). Prints each variant's RESULT line and its last log lines.
budget=$1; shift
logs=${LOGS:-/tmp/logs}
cd data/MNIST/raw && for f in *.gz; do gunzip -kf $f; done; cd - > /dev/null
mkdir -p $logs
nvidia-smi --query-gpu=name --format=csv,noheader; python -c "import torch; print(torch.__version__, torch.cuda.is_available())"
for v in "$@"; do
  python benchmarks/gpu_sweep/sweep.py $v $budget > $logs/$v.log 2>&1 &
done
wait
grep -h RESULT $logs/*.log; tail -n 2 $logs/*.log
