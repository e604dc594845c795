# Ansible managed
# Per-user shared directories. Slurm jobs get the same values from the TaskProlog.
export WORK="/cluster/work/$(id -un)"
export SCRATCH="/cluster/scratch/$(id -un)"
