# Ansible managed
# Per-user shared directories. Slurm jobs get the same values from the TaskProlog.
export SCRATCH="/cluster/scratch/$(id -un)"
export WORK="/cluster/work/$(id -un)"
