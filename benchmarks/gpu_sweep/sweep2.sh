#!/usr/bin/env bash
cd data/MNIST/raw && for f in *.gz; do gunzip -kf $f; done; cd - > /dev/null
mkdir -p /tmp/logs
for v in wide30s1 wider30 wide30ls wide30mild e30mild wide30s2; do
  python benchmarks/gpu_sweep/sweep.py $v $1 > /tmp/logs/$v.log 2>&1 &
done
wait
grep -h RESULT /tmp/logs/*.log; tail -n 2 /tmp/logs/*.log; cat /tmp/logs/*.log > $OUT/all.log
