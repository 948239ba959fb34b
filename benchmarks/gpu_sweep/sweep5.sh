#!/usr/bin/env bash
# The fifth sweep (issue 8: 1s with longer, flatter lead-ins in the styled digits): weights to $OUT, logs to /tmp/logs.
bash benchmarks/gpu_sweep/run.sh $1 lead55 lead55s1 lead60 lead55st24 ls2s3again
