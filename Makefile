# Entry points for ops and CI. Everything runs from the pinned venv in .venv.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
PYTHON ?= python3
VENV := .venv
DEMO_INVENTORY := inventories/demo
DEMO_CLUSTER := hpclab-demo
DEMO_HUB_PORT := 8443
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
LABEXTENSION := packages/hpclab/labextension

.PHONY: help host venv labextension demo demo-down lint unit molecule verify test bench bench-kernels bench-proxy bench-power

help:
	@echo "make demo       simulated cluster in local containers, deployed; prints URL and logins"
	@echo "make demo-down  remove the demo's containers, network and volumes"
	@echo "make test       lint, unit tests and the Molecule scenario (what CI runs)"
	@echo "make verify     the Molecule scenario's tests against the running demo (TESTS=... to pick)"
	@echo "make bench      spawn latency and hub memory, measured on the running demo"
	@echo "make bench-kernels  module kernel discovery on generated trees of 100 and 1000 modules"
	@echo "make bench-proxy    file downloads through the hub and a server's /proxy/<port>, on the demo"
	@echo "make bench-power    the power sampler's own CPU cost with 200 and 2000 processes on the node"

host:
	@scripts/ensure-host.sh

venv: $(VENV)/.installed

$(VENV)/.installed: requirements-dev.txt files/python-versions.txt | host
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --requirement requirements-dev.txt
	touch $@

# npm packages of the JupyterLab extension, exactly as package-lock.json lists them.
$(LABEXTENSION)/node_modules/.package-lock.json: $(LABEXTENSION)/package-lock.json | host
	npm --prefix $(LABEXTENSION) ci --no-audit --no-fund

# playbooks/build.yml builds it too; this target is for working on the extension.
labextension: venv $(LABEXTENSION)/node_modules/.package-lock.json
	npm --prefix $(LABEXTENSION) run build

demo: host venv
	ansible-playbook -i $(DEMO_INVENTORY) playbooks/demo_cluster.yml
	ansible-playbook -i $(DEMO_INVENTORY) playbooks/site.yml
	@scripts/demo-info.sh $(DEMO_CLUSTER) $(DEMO_HUB_PORT)

demo-down: host venv
	ansible-playbook -i $(DEMO_INVENTORY) playbooks/demo_cluster_down.yml

lint: venv $(LABEXTENSION)/node_modules/.package-lock.json
	yamllint --strict .
	ansible-lint
	ruff check .
	ruff format --check .
	npm --prefix $(LABEXTENSION) run lint

unit: venv $(LABEXTENSION)/node_modules/.package-lock.json
	pytest
	npm --prefix $(LABEXTENSION) test

molecule: host venv
	molecule test

# Molecule's verify step against the running demo (make demo first), for quick
# iteration: make verify, or make verify TESTS="test_attacks.py -k sniffer".
TESTS ?= .
verify: venv
	cd tests/molecule && HPCLAB_CLUSTER_NAME=$(DEMO_CLUSTER) HPCLAB_HUB_PORT=$(DEMO_HUB_PORT) \
	  pytest -p no:cacheprovider -o addopts="" $(TESTS)

test: lint unit molecule

bench: venv
	python tests/bench/hub_bench.py --cluster $(DEMO_CLUSTER) --port $(DEMO_HUB_PORT)

bench-kernels: host venv
	python tests/bench/kernels_bench.py

bench-proxy: venv
	python tests/bench/proxy_download_bench.py --cluster $(DEMO_CLUSTER) --port $(DEMO_HUB_PORT)

bench-power: venv
	python tests/bench/power_bench.py
