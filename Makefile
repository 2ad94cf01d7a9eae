# Quick start:  make demo   (install, build, run the demo on SQLite)
#               make test   (install, build, run every test)
BUILD ?= build
BUILD_TYPE ?= RelWithDebInfo
JOBS ?= 2

.PHONY: all deps deps-build configure build demo test bench clean

all: build

deps:
	bash scripts/install-deps

deps-build:
	bash scripts/install-deps --build

configure:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE)

build: configure
	cmake --build $(BUILD) -j$(JOBS)

demo: deps-build
	$(MAKE) build
	bash scripts/demo $(BUILD)

test: deps
	$(MAKE) build
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS)

bench:
	bash scripts/install-deps --bench
	$(MAKE) build BUILD_TYPE=Release
	bash scripts/bench $(BUILD)

clean:
	rm -rf $(BUILD)
