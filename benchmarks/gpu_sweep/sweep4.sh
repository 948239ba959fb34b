#!/usr/bin/env bash
# The fourth sweep (label smoothing 0.2, sweep3's best on validation): weights to $OUT, logs to /tmp/logs.
cd data/MNIST/raw && for f in *.gz; do gunzip -kf $f; done; cd - > /dev/null
mkdir -p /tmp/logs
for v in ls2s1 ls2s2 ls2s3 ls2_45 ls3_30; do
  python benchmarks/gpu_sweep/sweep.py $v $1 > /tmp/logs/$v.log 2>&1 &
done
wait
grep -h RESULT /tmp/logs/*.log; tail -n 2 /tmp/logs/*.log
