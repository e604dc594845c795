"""Lab side: runs in each user's JupyterLab server (never imported by hpclab.hub)."""
