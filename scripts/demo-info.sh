#!/usr/bin/env bash
# Prints how to reach the demo cluster: the hub's URL and the demo accounts.
set -euo pipefail
cluster=$1
port=$2
credentials="$(dirname "$0")/../.state/${cluster}/credentials"

echo
echo "hpclab demo cluster '${cluster}' is up."
echo "  URL:    https://127.0.0.1:${port}/  (loopback only; the hub's TLS certificate is self-signed)"
echo "  Shell:  docker exec -it ${cluster}-hub su - alice"
echo "  Logins:"
for account in "${credentials}"/*; do
  printf '    %-10s %s\n' "$(basename "${account}")" "$(cat "${account}")"
done
