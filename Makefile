# Quick start:  make demo   (install, build, run the demo on SQLite)
#               make test   (install, build, run every test)
BUILD ?= build
BUILD_TYPE ?= RelWithDebInfo
JOBS ?= 2
FUZZ_SECONDS ?= 20

.PHONY: all deps deps-build configure build demo test test-unit sanitize tsan fuzz bench clean

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

# Every test, then the tests again under ASan + UBSan, the concurrent ones
# under ThreadSanitizer, then 20 s of fuzzing per libFuzzer target.
test: deps
	$(MAKE) test-unit
	$(MAKE) sanitize
	$(MAKE) tsan
	$(MAKE) fuzz

test-unit:
	$(MAKE) build
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS)

sanitize:
	bash scripts/sanitize address $(BUILD)-asan

tsan:
	bash scripts/sanitize thread $(BUILD)-tsan

fuzz:
	bash scripts/fuzz $(FUZZ_SECONDS) $(BUILD)-fuzz

bench:
	bash scripts/install-deps --bench
	$(MAKE) build BUILD_TYPE=Release
	bash scripts/bench $(BUILD)

clean:
	rm -rf $(BUILD)
