# The two commands of the README: `make demo` and `make test`.
.PHONY: setup demo test lint bench bench-storm kube

setup:
	bash scripts/setup.sh

demo: setup
	.venv/bin/remediator dev --demo

kube: setup
	bash scripts/build-kube.sh

test: setup kube
	.venv/bin/python -m pytest -q

lint: setup
	.venv/bin/ruff check .
	.venv/bin/mypy workflows activities starters workers remediator

bench: setup
	.venv/bin/python bench/pipeline.py

bench-storm: setup
	.venv/bin/python bench/storm.py
