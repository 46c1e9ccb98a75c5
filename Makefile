# raypipe's front door. `make` builds (build/bin/raypipe); `make test`, `make demo` and
# `make bench` run the set-up first, so each works on a fresh clone.

JOBS        ?= $(shell nproc)
BUILD       ?= build
CMAKE_FLAGS ?=
FUZZ_SECONDS ?= 15

.PHONY: all setup build test unit-test asan-test fuzz-test bench demo clean format

all: build

setup:
	@scripts/setup

build: setup
	@cmake -S . -B $(BUILD) -G Ninja $(CMAKE_FLAGS) > /dev/null
	@cmake --build $(BUILD) -j $(JOBS)

# Every test: the unit and integration tests, the same tests under ASan + UBSan, and a short
# run of every fuzzer over its corpus.
test: unit-test asan-test fuzz-test

unit-test: build
	ctest --test-dir $(BUILD) -j $(JOBS) --output-on-failure

# The studio in Debian's chromium (part of unit-test and asan-test too, through ctest).
.PHONY: browser-test
browser-test: build
	ctest --test-dir $(BUILD) -R studio_browser_test --output-on-failure

asan-test: setup
	@cmake -S . -B build-asan -G Ninja -DRAYPIPE_SANITIZE=ON -DRAYPIPE_BENCH=OFF > /dev/null
	@cmake --build build-asan -j $(JOBS)
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  ctest --test-dir build-asan -j $(JOBS) --output-on-failure

fuzz-test: setup
	@CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DRAYPIPE_FUZZ=ON > /dev/null
	@cmake --build build-fuzz -j $(JOBS)
	scripts/run-fuzzers build-fuzz $(FUZZ_SECONDS)

bench: build
	@scripts/setup --python
	bench/run $(BUILD)

demo: build
	scripts/demo $(BUILD)

format:
	clang-format -i $$(git ls-files '*.h' '*.cc')

clean:
	rm -rf $(BUILD) build-asan build-fuzz
