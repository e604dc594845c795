#!/bin/sh
# code-server with the Node.js it was built for, both inside this installation, wherever
# the installation was copied to.
here=$(dirname "$(readlink -f "$0")")/../lib
exec "$here/node" "$here/node_modules/code-server/out/node/entry.js" "$@"
