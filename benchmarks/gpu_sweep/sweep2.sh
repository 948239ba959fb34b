#!/usr/bin/env bash
# The second sweep: the 48-96-192 widths, label smoothing, milder augmentation. OUT=... bash sweep2.sh SECONDS
bash benchmarks/gpu_sweep/run.sh $1 wide30s1 wider30 wide30ls wide30mild e30mild wide30s2
cat /tmp/logs/*.log > $OUT/all.log
