#!/usr/bin/env bash
# The first sweep: 6 variants of the recipe before it, logs with the weights in $OUT. OUT=... bash sweep.sh SECONDS
LOGS=$OUT bash benchmarks/gpu_sweep/run.sh $1 base12 e30 e30s1 e30st24 wide30 e50
