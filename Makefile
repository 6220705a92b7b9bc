# codedtrain front door: `make run` and `make test` install what is missing
# (Debian packages), configure, build, then run the main job or the test suite.
BUILD     ?= build
JOBS      ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_ARGS ?=
# `make run`: the headline comparison (codedtrain demo); `make run RUN=single`: one worker, plain SGD
RUN       ?= demo
ifeq ($(RUN),single)
RUN_ARGS  ?= train --epochs 10 --log $(BUILD)/run.jsonl
else
RUN_ARGS  ?= demo --out $(BUILD)/demo
endif
# LeNet-5 on Fashion-MNIST until 0.90 test accuracy (bench/results/lenet5_fashion.md)
LENET_ARGS ?= train --model lenet5 --epochs 20 --lr 0.02 --lr-schedule cosine --weight-decay 5e-4 --batch 64 \
              --target-acc 0.90 --log $(BUILD)/lenet5.jsonl --checkpoint $(BUILD)/lenet5.safetensors
DEB_PKGS  := cmake make gcc libopenblas-dev liblapacke-dev zlib1g-dev dataset-fashion-mnist gnuplot-nox \
             clang libclang-rt-14-dev libopenmpi-dev openmpi-bin \
             python3-venv python3-pip python3-setuptools python3-wheel python3-numpy python3-pytest python3-torch pkgconf
SUDO      := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# nvcc lives outside PATH on some toolkits: let CMake find it.
export CUDACXX ?= $(shell command -v nvcc 2>/dev/null || ls /usr/local/cuda/bin/nvcc 2>/dev/null)

.PHONY: all deps configure build run lenet pyenv test ctest pytest test-sanitize fuzz-build fuzz-smoke fuzz-long bench clean

# libFuzzer harnesses (fuzz/): their own clang + ASan/UBSan build directory.
FUZZ_BUILD   ?= build-fuzz
FUZZ_SECONDS ?= 3600
FUZZ_SMOKE_SECONDS ?= 6

all: build

deps:
	@missing=""; for p in $(DEB_PKGS); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi

$(BUILD)/CMakeCache.txt: CMakeLists.txt | deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release $(CMAKE_ARGS)

configure: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release $(CMAKE_ARGS)

build: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

run: build
	./$(BUILD)/codedtrain $(RUN_ARGS)

lenet: build
	./$(BUILD)/codedtrain $(LENET_ARGS)

test: ctest
	$(MAKE) fuzz-smoke
	$(MAKE) pytest

# One Python environment for the tests, $(BUILD)/pyenv: a virtual environment on
# Debian's python3 (numpy, torch, pytest from Debian) plus safetensors from PyPI
# (best effort: without it the checkpoint-in-PyTorch test reports SKIP).
PYENV ?= $(BUILD)/pyenv
pyenv:
	@[ -x $(PYENV)/bin/python ] || /usr/bin/python3 -m venv --system-site-packages $(PYENV)
	-@$(PYENV)/bin/python -c "import safetensors" 2>/dev/null || \
	  $(PYENV)/bin/pip install -q --disable-pip-version-check safetensors

# the Python package (python/): installed with pip into that environment, taking
# libcodedtrain and the program from this build, then its tests and the PyTorch example
pytest: build pyenv
	CODEDTRAIN_BUILD_DIR=$(abspath $(BUILD)) $(PYENV)/bin/python -m pip install --quiet --no-build-isolation \
	    --no-deps --no-index --force-reinstall ./python
	cd $(BUILD) && $(abspath $(PYENV))/bin/python -m pytest -q $(CURDIR)/python/tests

ctest: build pyenv
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

test-sanitize:
	$(MAKE) ctest BUILD=build-sanitize CMAKE_ARGS="-DCT_SANITIZE=ON -DCT_WITH_CUDA=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo"

$(FUZZ_BUILD)/CMakeCache.txt: CMakeLists.txt fuzz/CMakeLists.txt | deps
	CC=clang cmake -S . -B $(FUZZ_BUILD) -DCT_FUZZ=ON -DCT_SANITIZE=ON -DCT_WITH_CUDA=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo

fuzz-build: deps $(FUZZ_BUILD)/CMakeCache.txt
	cmake --build $(FUZZ_BUILD) -j $(JOBS) --target fuzz_all

# a few seconds per harness on a scratch copy of the seed corpus; fails on any finding
fuzz-smoke: fuzz-build
	fuzz/run.sh $(FUZZ_BUILD) $(FUZZ_SMOKE_SECONDS)

# the long run: make fuzz-long FUZZ_SECONDS=3600 (per harness, one after another);
# findings and logs in $(FUZZ_BUILD)/fuzz-long/<harness>/
fuzz-long: fuzz-build
	fuzz/run.sh $(FUZZ_BUILD) $(FUZZ_SECONDS) $(FUZZ_BUILD)/fuzz-long

clean:
	rm -rf $(BUILD) build-sanitize $(FUZZ_BUILD)
