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

.PHONY: help venv demo test lint unit integration molecule docs lock clean

help:
	@echo "make demo         set up .venv, start a local cloud, run site.yml and verify.yml, stop it"
	@echo "make test         lint + unit + integration + molecule (CI runs this)"
	@echo "make lint         yamllint, ansible-lint (production), cfn-lint, module docs, role docs"
	@echo "make unit         pytest tests/unit"
	@echo "make integration  pytest tests/integration (starts its own emulator)"
	@echo "make molecule     molecule test for every scenario in molecule/"
	@echo "make docs         regenerate the role READMEs' variable tables"
	@echo "make lock         re-resolve constraints.txt from requirements.txt"

venv: $(VENV)/.installed

$(VENV)/.installed: requirements.txt constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt -c constraints.txt
	touch $@

demo: venv
	scripts/demo

test: lint unit integration molecule

lint: venv
	yamllint --strict .
	ansible-lint --offline
	mkdir -p .cache/cfn
	scripts/render-endpoints-template > .cache/cfn/vpc-endpoints-default.yaml
	scripts/render-endpoints-template --subnets 3 --extra kms secretsmanager ssm ssmmessages ec2messages batch s3 \
		> .cache/cfn/vpc-endpoints-extended.yaml
	cfn-lint .cache/cfn/*.yaml
	for module in library/*.py; do \
		ansible-doc -M library -t module "$$(basename "$$module" .py)" > /dev/null; done
	scripts/gen-docs --check
	ansible-playbook --syntax-check playbooks/*.yml > /dev/null

unit: venv
	pytest -q tests/unit

integration: venv
	pytest -q tests/integration

molecule: venv
	for scenario in molecule/*/molecule.yml; do molecule test -s "$$(basename "$$(dirname "$$scenario")")"; done

docs: venv
	scripts/gen-docs

lock:
	rm -rf .cache/lock-venv
	$(PYTHON) -m venv .cache/lock-venv
	.cache/lock-venv/bin/pip install --quiet -r requirements.txt
	.cache/lock-venv/bin/pip freeze --exclude-editable | sort > constraints.txt

clean:
	rm -rf $(VENV) .cache .pytest_cache
