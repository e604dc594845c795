# Ansible managed
# Per-user shared directories. Slurm jobs get the same values from the TaskProlog.
export SCRATCH="/gpfsscratch/$(id -un)"
export WORK="/gpfswork/$(id -un)"
