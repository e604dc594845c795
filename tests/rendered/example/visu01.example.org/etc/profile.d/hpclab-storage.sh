# Ansible managed
# Per-user shared directories. Slurm jobs get the same values from the TaskProlog.
export WORK="/gpfswork/$(id -un)"
export SCRATCH="/gpfsscratch/$(id -un)"
