# The toolkit's entry points. A newcomer needs two:
#   make demo   set up on a fresh machine, run every phase and verify locally
#   make test   lint, unit, integration and molecule tests (what CI runs)

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
PYTHON ?= python3
export PATH := $(BIN):$(PATH)
# Tests and lint must never touch a real account by accident.
export AWS_EC2_METADATA_DISABLED := true

.PHONY: help venv system-deps demo test lint unit integration integration-a integration-b molecule-then-integration-b \
	molecule bench docs lock clean

# Debian packages the registry phase and the local cloud need: skopeo copies
# images without a daemon, docker-registry is the local cloud's registry.
SYSTEM_PACKAGES := skopeo docker-registry debootstrap

help:
	@echo "make demo         set up .venv, start a local cloud, run site.yml and verify.yml, stop it"
	@echo "make system-deps  install skopeo and docker-registry (Debian packages) when missing"
	@echo "make test         lint + unit + integration + molecule, two at a time (CI runs this)"
	@echo "make lint         yamllint, ansible-lint (production), cfn-lint, module docs, role docs, parliament (IAM policies)"
	@echo "make unit         pytest tests/unit"
	@echo "make integration  pytest tests/integration (starts its own emulator; make test runs it in two shards)"
	@echo "make molecule     molecule test for every scenario in molecule/"
	@echo "make bench        benchmarks against a local cloud of their own, and under the model of AWS's timing; writes bench/results.json, docs/performance.md"
	@echo "make docs         regenerate the role READMEs' variable tables"
	@echo "make lock         re-resolve constraints.txt from requirements.txt"

# Every task's worker process imports the filter plugins afresh. Where
# PYTHONDONTWRITEBYTECODE is set (as on this project's test machines) Python
# writes no bytecode, so each import compiled them again: 86 and 96 s for a
# no-op site.yml, against 73 and 76 s with it (docs/performance.md).
# compileall writes it whatever that variable says, and only what changed.
venv: $(VENV)/.installed
	@$(BIN)/python -m compileall -q filter_plugins strategy_plugins > /dev/null

$(VENV)/.installed: requirements.txt constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt -c constraints.txt
	touch $@

system-deps:
	@missing=$$(for tool in $(SYSTEM_PACKAGES); do command -v $$tool > /dev/null || printf ' %s' $$tool; done); \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ]; then sudo=""; elif command -v sudo > /dev/null; then sudo=sudo; \
	else echo "Missing:$$missing. Install them (Debian/Ubuntu: apt-get install$$missing) and run again." >&2; exit 1; fi; \
	echo "Installing$$missing from Debian's packages"; \
	$$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq --no-install-recommends$$missing > /dev/null

demo: venv system-deps
	scripts/demo

# The suites each keep about one of two cores busy, so they run in pairs, side
# by side (scripts/side-by-side): unit beside lint, then the integration tests'
# shard A beside molecule followed by shard B, so that neither core idles.
test: venv system-deps
	scripts/side-by-side unit lint
	scripts/side-by-side integration-a molecule-then-integration-b

lint: venv
	yamllint --strict .
	ruff check library module_utils filter_plugins strategy_plugins tests bench roles/*/files \
		scripts/make-oci-image scripts/gen-docs scripts/render-endpoints-template scripts/local-cloud-emulator \
		scripts/lint-policies
	ansible-lint --offline
	mkdir -p .cache/cfn
	scripts/render-endpoints-template > .cache/cfn/vpc-endpoints-default.yaml
	scripts/render-endpoints-template --subnets 3 --extra kms secretsmanager ssm ssmmessages ec2messages batch s3 \
		> .cache/cfn/vpc-endpoints-extended.yaml
	cfn-lint .cache/cfn/*.yaml
	for module in library/*.py; do \
		ansible-doc -M library -t module "$$(basename "$$module" .py)" > /dev/null; done
	scripts/gen-docs --check
	scripts/lint-policies
	ansible-playbook --syntax-check playbooks/*.yml > /dev/null

unit: venv
	pytest -q tests/unit

integration: venv system-deps
	pytest -q tests/integration

# The integration tests in two shards of about equal length once molecule's
# 16 minutes are added to B. Each shard starts emulators of its own; on the
# controller they share only reports/<environment>/, so every test that runs
# the registry, batch or verify playbook on the local inventory (which write
# reports/local/) is in shard A (tests/unit/test_makefile.py checks it). A new
# file goes to B.
INTEGRATION_A := $(addprefix tests/integration/,test_faults.py test_verify.py test_teardown.py test_site.py \
	test_registry_phase.py test_batch_phase.py)
INTEGRATION_B := $(filter-out $(INTEGRATION_A),$(sort $(wildcard tests/integration/test_*.py)))

integration-a: venv system-deps
	pytest -q -p no:cacheprovider $(INTEGRATION_A)

integration-b: venv system-deps
	pytest -q -p no:cacheprovider $(INTEGRATION_B)

molecule-then-integration-b:
	$(MAKE) --no-print-directory molecule
	$(MAKE) --no-print-directory integration-b

molecule: venv system-deps
	# molecule/default is only there to be found (see its molecule.yml).
	for scenario in molecule/*/molecule.yml; do name="$$(basename "$$(dirname "$$scenario")")"; \
		[ "$$name" = default ] || molecule test -s "$$name"; done

bench: venv system-deps
	python bench/converge.py
	python bench/push.py
	python bench/upstream.py
	python bench/aws_model.py

docs: venv
	scripts/gen-docs

lock:
	rm -rf .cache/lock-venv
	$(PYTHON) -m venv .cache/lock-venv
	.cache/lock-venv/bin/pip install --quiet -r requirements.txt
	.cache/lock-venv/bin/pip freeze --exclude-editable | sort > constraints.txt

clean:
	rm -rf $(VENV) .cache .pytest_cache
