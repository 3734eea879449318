# neuralrig: set up, run and test on Debian/Raspberry Pi OS (or any Linux with python3 >= 3.10).
#   make deps   system packages (apt-get; sudo when not root)
#   make venv   .venv with torch (CPU) and neuralrig installed (not editable)
#   make run    serve; starts a dummy JACK server when there is none and no sound card
#   make test   ruff + pytest against the installed package
#   make models remake the shipped overdrive models from the reference circuit (long)
#   make oneshot-model  remake the shipped one-shot generator (synthesised pack, ~20 min)
#   make rave-model     remake the shipped RAVE-style generator (synthesised corpus, ~25 min)
#   make clean

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
VPY := $(VENV)/bin/python
ARCH := $(shell uname -m)
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT := $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get -y -qq -o=Dpkg::Use-Pty=0
HAVE_APT := $(shell command -v apt-get >/dev/null 2>&1 && echo yes)

# Runtime: jackd2 (server + libjack), libasound2 (python-rtmidi's wheel links it),
# libsndfile1 and libportaudio2 (used by source builds and soundfile without its
# bundled copy). The pyo 1.1.0 x86_64 wheel bundles its own portaudio, portmidi,
# liblo, libsndfile, libjack and libasound, so it needs nothing more.
DEPS_PKGS := jackd2 libasound2 libsndfile1 libportaudio2 python3 python3-venv
# pyo has no aarch64 wheel: pip builds it from source on a Raspberry Pi.
ifeq ($(ARCH),aarch64)
DEPS_PKGS += portaudio19-dev libportmidi-dev liblo-dev libsndfile1-dev libjack-jackd2-dev \
             libasound2-dev python3-dev build-essential
endif
# Tests only: systemd-analyze, systemd-sysusers and systemd-tmpfiles; pd (puredata-core) runs
# the Pure Data example against a daemon, lua5.4 the TouchOSC layout's script
# (tests/test_examples.py).
TEST_PKGS := systemd puredata-core lua5.4

# torch first, so `pip install .` finds it satisfied: 2.13.0 is the pinned CPU build on
# x86_64 (an unpinned torch from the registry pulls GBs of CUDA); aarch64 wheels are CPU.
ifeq ($(ARCH),x86_64)
TORCH := torch==2.13.0
else
TORCH := torch
endif
# Extra pip arguments for torch, e.g. an --index-url of CPU-only wheels.
TORCH_PIP_ARGS ?=
# Set to [test] by `make test` (target-specific, so it reaches the venv prerequisite).
EXTRAS ?=
RUN_ARGS ?=
LINT_PATHS := $(wildcard server models mappings tests benchmarks examples)
# Exit status 0 when a JACK server (the default one, or $$JACK_DEFAULT_SERVER) answers.
JACK_UP = $(VPY) -c 'import sys; from neuralrig.server.audio.jack_client import server_running as up; sys.exit(not up())'

.PHONY: help deps test-deps apt-update venv run test models oneshot-model rave-model clean

help:
	@echo "targets: deps venv run test models oneshot-model rave-model clean"

apt-update:
ifeq ($(HAVE_APT),yes)
	@echo "apt-get update"
	@$(APT) update
endif

deps: apt-update
ifeq ($(HAVE_APT),yes)
	@# Never ask (and never edit /etc/security/limits.d): systemd units set the RT limits.
	@if command -v debconf-set-selections >/dev/null; then \
	  echo "jackd2 jackd/tweak_rt_limits boolean false" | $(SUDO) debconf-set-selections; fi
	@echo "apt-get install $(DEPS_PKGS)"
	@$(APT) install --no-install-recommends $(DEPS_PKGS) >/dev/null
else
	@echo "deps: no apt-get; install jackd2 (JACK 2), ALSA, libsndfile and python3-venv yourself"
endif

test-deps: apt-update
ifeq ($(HAVE_APT),yes)
	@echo "apt-get install $(TEST_PKGS)"
	@$(APT) install --no-install-recommends $(TEST_PKGS) >/dev/null
endif

venv:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 10))' \
	  || { echo "$(PYTHON) is older than 3.10" >&2; exit 1; }
	@test -x $(VPY) || { echo "creating $(VENV)"; $(PYTHON) -m venv $(VENV); }
	@$(VPY) -m pip install -q --upgrade pip
	@echo "pip install $(TORCH)"
	@$(VPY) -m pip install -q $(TORCH_PIP_ARGS) "$(TORCH)"
	@# A stale in-tree build/ would put deleted modules back into the wheel.
	@rm -rf build
	@echo "pip install .$(EXTRAS)"
	@$(VPY) -m pip install -q ".$(EXTRAS)"

run: deps venv
	@if ! $(JACK_UP); then \
	  if [ ! -s /proc/asound/cards ] || grep -q "no soundcards" /proc/asound/cards; then \
	    echo "no sound card found: starting a JACK server with the dummy driver"; \
	    nohup jackd --no-realtime -d dummy -r 48000 -p 128 >jackd-dummy.log 2>&1 & \
	    echo "jackd pid $$! (log: jackd-dummy.log; stop it with: kill $$!)"; \
	    for _ in $$(seq 100); do $(JACK_UP) && break; sleep 0.1; done; \
	  fi; \
	fi; \
	exec $(VENV)/bin/neuralrig serve $(RUN_ARGS)

test: EXTRAS = [test]
test: deps test-deps venv
	@# nn~'s own exporter, for the contract tests: its wheel pins torch 2.5, its code runs
	@# on ours, so it comes without dependencies. acids-rave (RAVE v2's exporter) pins
	@# scipy 1.10 and pytorch-lightning 1.9: it too comes without dependencies, and the
	@# ones its export path imports come first ($(TORCH) keeps torch as it is).
	@$(VPY) -m pip install -q "$(TORCH)" gin-config==0.5.0 einops==0.8.2 GPUtil==1.4.0 \
	  lmdb==3.0.0 udls==1.1.4 absl-py pytorch-lightning librosa scikit-learn
	@$(VPY) -m pip install -q --no-deps nn-tilde==1.6.0 cached-conv==2.5.0 acids-rave==2.3.1 \
	  torchaudio==2.11.0
	@# PyPI's torchaudio is a CUDA build: without its compiled extensions it loads in its
	@# pure-Python mode, all RAVE's model code needs (tests/test_generators_acids_rave.py).
	@$(VPY) -c "import importlib.util as u, pathlib as p; \
	  [f.unlink() for f in p.Path(u.find_spec('torchaudio').submodule_search_locations[0], \
	  'lib').glob('*.so')]"
	$(VPY) -m ruff check $(LINT_PATHS)
	$(VPY) -m pytest

# Renders into build/shipped-models (about 800 MB), trains into models/data/; then
# reinstall (make venv) so the installed package carries the new files.
models: venv
	$(VPY) -m neuralrig.models.make_shipped_models --work build/shipped-models \
		--out models/data --threads 2

# Synthesises the one-shot pack into build/oneshot-pack and trains the one-shot generator
# (nice 10, one thread) into models/data/oneshots.*; then reinstall (make venv).
oneshot-model: venv
	$(VPY) -m neuralrig.models.generators.oneshots.make_shipped --work build/oneshot-pack \
		--out models/data --threads 1

# Synthesises its corpus and trains the RAVE-style generator (nice 10, one thread) into
# models/data/rave-synth.*; then reinstall (make venv).
rave-model: venv
	nice -n 10 $(VPY) -m neuralrig.models.generators.rave.make_shipped --out models/data

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .ruff_cache jackd-dummy.log
	find . -name __pycache__ -type d -prune -not -path './.git/*' -exec rm -rf {} +
