#!/usr/bin/env bash
cd data/MNIST/raw && for f in *.gz; do gunzip -kf $f; done; cd - > /dev/null
nvidia-smi --query-gpu=name --format=csv,noheader; python -c "import torch; print(torch.__version__, torch.cuda.is_available())"
for v in base12 e30 e30s1 e30st24 wide30 e50; do
  python benchmarks/gpu_sweep/sweep.py $v $1 > $OUT/$v.log 2>&1 &
done
wait
grep -h RESULT $OUT/*.log; tail -n 3 $OUT/*.log
