#!/usr/bin/env bash
# The fifth sweep (issue 8: 1s with longer, flatter lead-ins in the styled digits): weights to $OUT, logs to /tmp/logs.
cd data/MNIST/raw && for f in *.gz; do gunzip -kf $f; done; cd - > /dev/null
mkdir -p /tmp/logs
for v in lead55 lead55s1 lead60 lead55st24 ls2s3again; do
  python benchmarks/gpu_sweep/sweep.py $v $1 > /tmp/logs/$v.log 2>&1 &
done
wait
grep -h RESULT /tmp/logs/*.log; tail -n 2 /tmp/logs/*.log
