# `make install` builds .venv from nothing and is idempotent; `demo` and `test` depend on it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The SageMaker SDK v3 cannot share .venv with v2 (both own `sagemaker`): tests/sdk_v3_integ uses this one.
SDK3_VENV := .venv-sdk3

.PHONY: install browser java console demo demo-abalone demo-approval test lint typecheck unit conformance rehearse bench clean sdk-integ sdk-integ-upstream

install: $(STAMP) browser java

# The web console's browser tests drive Debian's Chromium (tests/console); installed when missing.
CONSOLE_BROWSER ?= /usr/bin/chromium
browser:
	@if [ ! -x "$(CONSOLE_BROWSER)" ]; then \
		echo "installing Debian's chromium for the console's browser tests"; \
		apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; \
	fi

# Rebuild the web console's committed assets (shared/pipelines/console/static) from console/src.
console: $(STAMP)
	node console/build.mjs

$(STAMP): requirements.txt requirements-dev.txt requirements-extras.txt functions/requirements-tracking.txt requirements-spark.txt requirements-sdk3.txt pyproject.toml $(wildcard package.json)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	test -x $(SDK3_VENV)/bin/python || $(PYTHON) -m venv $(SDK3_VENV)
	$(SDK3_VENV)/bin/python -m pip install --quiet -r requirements-sdk3.txt
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt -r requirements-dev.txt -r requirements-extras.txt
	$(BIN)/python -m pip install --quiet -r requirements-spark.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	if [ -f package.json ]; then npm ci --silent --no-audit --no-fund; fi
	touch $(STAMP)

# Spark (EMR and EMRServerless steps, docs/spark.md) needs Java 17 or later. As root on Debian or
# Ubuntu, Debian's default headless JRE (OpenJDK 17 on bookworm) is installed when none is found;
# otherwise this says what to install. EMR steps are refused with the same hint until then.
java:
	@if java -version 2>&1 | grep -Eq 'version "(1[7-9]|[2-9][0-9])'; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends default-jre-headless; \
	else \
		echo "note: Spark needs Java 17+ and none was found: install one (apt-get install default-jre-headless) or set [spark] java_home"; \
	fi

# The run waits at a Callback step for approval; examples/approval/approve.py answers it from
# another process through the CLI, as a reviewer would. If the approver fails, the run is killed.
# The ML example: every Processing/Training/Transform step runs as a local job (prepare.py puts
# its code in the local object store first).
demo: demo-abalone

demo-abalone: install
	$(BIN)/python examples/abalone/prepare.py --config examples/abalone/pipelines.toml
	$(BIN)/pipelines run examples/abalone/pipeline.json --config examples/abalone/pipelines.toml

# Lambda, Condition, Callback (answered by approve.py, like a human reviewer) and RegisterModel.
demo-approval: install
	@since=$$(date +%s); \
	$(BIN)/pipelines run examples/approval/pipeline.json --config examples/approval/pipelines.toml & run=$$!; \
	$(BIN)/python examples/approval/approve.py --config examples/approval/pipelines.toml \
		--since $$since --watch-pid $$run --timeout 120 || kill $$run 2>/dev/null; \
	wait $$run

lint: install
	$(BIN)/ruff check .
	npx --no-install tsc -p console --noEmit
	$(BIN)/ruff format --check shared functions infra tests benchmarks examples app.py

typecheck: install
	$(BIN)/mypy

# The suite needs nothing beside the repository; tests/conformance reads the real-definition
# corpus (../shared/corpus, or $$PIPELINES_CORPUS) and runs only under `make conformance`.
# --dist loadgroup keeps the deploy rehearsal's tests on one worker (one synth, one deployment).
unit: install
	$(BIN)/pytest -q -n auto --dist loadgroup --ignore=tests/conformance

conformance: install
	$(BIN)/pytest -q -n auto tests/conformance

# The deploy rehearsal alone (also part of `unit`): `cdk synth` as a user runs it for every
# context variant (tests/infra/test_cli_synth.py, test_layer_imports.py: clean synths, handlers
# importing from their assets, wheels for both architectures), then the template deployed into
# moto with every handler run from its built assets on Python 3.12 (tests/rehearsal).
rehearse: install
	$(BIN)/pytest -q -p no:xdist tests/infra/test_cli_synth.py tests/infra/test_layer_imports.py tests/rehearsal

test: lint typecheck unit

# Our equivalents of the SageMaker SDK's own pipeline integration tests, against a real
# `pipelines serve` (also part of `unit`; see tests/sdk_integ/conftest.py).
sdk-integ: install
	$(BIN)/pytest -q -p no:xdist tests/sdk_integ tests/sdk_v3_integ

# The SDK's *own* workflow test files (not on PyPI), unchanged, from a checkout of
# aws/sagemaker-python-sdk's v2 line, with tests/sdk_integ/upstream_plugin.py standing in for
# the AWS account (a served endpoint, the role, the bucket, the ECR image). Not run by CI.
SDK_TESTS ?= tests/integ/sagemaker/workflow/test_fail_steps.py tests/integ/sagemaker/workflow/test_pipeline_var_behaviors.py
sdk-integ-upstream: install
	@test -n "$(SDK_SRC)" || { echo "usage: make sdk-integ-upstream SDK_SRC=<sagemaker-python-sdk checkout> [SDK_TESTS=...]"; exit 2; }
	cd "$(SDK_SRC)" && PYTHONPATH="$(CURDIR)/tests/sdk_integ" "$(CURDIR)/$(BIN)/pytest" \
		-p upstream_plugin -p no:cacheprovider -o addopts= -q $(SDK_TESTS)

bench: install
	for f in benchmarks/*.py; do $(BIN)/python $$f || exit 1; done

clean:
	rm -rf $(VENV) $(SDK3_VENV) node_modules cdk.out .rehearsal .pytest_cache .mypy_cache .ruff_cache
