#!/usr/bin/env bash
# The fourth sweep (label smoothing 0.2, sweep3's best on validation): weights to $OUT, logs to /tmp/logs.
bash benchmarks/gpu_sweep/run.sh $1 ls2s1 ls2s2 ls2s3 ls2_45 ls3_30
