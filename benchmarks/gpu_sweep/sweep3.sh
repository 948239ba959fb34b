#!/usr/bin/env bash
# The third sweep: seeds and neighbours of the shipped recipe, 7 at once. OUT=... bash sweep3.sh SECONDS
cd data/MNIST/raw && for f in *.gz; do gunzip -kf $f; done; cd - > /dev/null
nvidia-smi --query-gpu=name --format=csv,noheader; python -c "import torch; print(torch.__version__, torch.cuda.is_available())"
for v in ls30s1 ls30s2 ls30s3 ls30s4 ls45 ls2_30 ls30full; do
  python benchmarks/gpu_sweep/sweep.py $v $1 > $OUT/$v.log 2>&1 &
done
wait
grep -h RESULT $OUT/*.log; tail -n 2 $OUT/*.log
