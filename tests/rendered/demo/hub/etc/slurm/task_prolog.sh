#!/bin/sh
# Ansible managed
# Slurm TaskProlog: runs as the job's user before each task; every "export NAME=VALUE"
# line it prints is set in the task's environment.
echo "export SCRATCH=/cluster/scratch/$(id -un)"
echo "export WORK=/cluster/work/$(id -un)"
