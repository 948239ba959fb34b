#!/usr/bin/env bash
# The third sweep: seeds and neighbours of the shipped recipe, 7 at once. OUT=... bash sweep3.sh SECONDS
LOGS=$OUT bash benchmarks/gpu_sweep/run.sh $1 ls30s1 ls30s2 ls30s3 ls30s4 ls45 ls2_30 ls30full
