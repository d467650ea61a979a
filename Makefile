# Two commands do everything on a fresh machine (Debian, as root or with sudo):
#   make run   - install what is missing, build (release), run the main example (LSI of the
#                9-document corpus, then of 1,000,000 documents)
#   make test  - install what is missing, build, run every test, and build a package that
#                depends on Latent by version
SWIFT ?= swift
APT_PACKAGES := libopenblas-dev liblapacke-dev zlib1g-dev libbz2-dev bzip2 pkg-config
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
RELEASE_BIN := .build/release/latent

.PHONY: run test build release deps clean bench

deps:
	@if ! dpkg -s $(APT_PACKAGES) >/dev/null 2>&1; then \
		echo "installing $(APT_PACKAGES)"; \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(APT_PACKAGES); \
	fi

# Debug builds compile the C targets (the kernels; the dependencies' C) optimised: the tests
# spend much of their time in the kernels, which at -O0 ran several times slower (the suite
# "LSI model": 95 s, 55 s so). Swift stays unoptimised. `build` and `test` use the same flags,
# so that neither rebuilds what the other built; a plain `swift build` differs and rebuilds.
DEBUG_FLAGS := -Xcc -O2

build: deps
	$(SWIFT) build $(DEBUG_FLAGS)

release: deps
	$(SWIFT) build -c release --product latent
	$(SWIFT) build -c release --product latent-generate

run: release
	$(RELEASE_BIN) example

# Tests run one at a time: they are BLAS-heavy, and on two cores parallel suites mostly
# fight over the cores (10x slower) and over OpenBLAS's process-wide thread count.
# scripts/run-tests.sh keeps the output in .build/test-output.log and, when a test fails or
# the process crashes, ends with the failed tests and the test that was running.
# Then a package that depends on Latent by version is built and run (scripts/check-downstream.sh).
# The web page's test drives Debian's headless chromium; the network partition tests make
# network namespaces with iproute2's ip.
TEST_PACKAGES := chromium iproute2
test: deps
	@dpkg -s $(TEST_PACKAGES) >/dev/null 2>&1 || { echo "installing $(TEST_PACKAGES) (for the web page's and the partition tests)"; \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(TEST_PACKAGES); }
	$(SWIFT) build --build-tests $(DEBUG_FLAGS)
	SWIFT=$(SWIFT) scripts/run-tests.sh
	scripts/check-downstream.sh

clean:
	rm -rf .build

# Benchmarks (release build, side by side with gensim; data generated under bench-data/).
bench: deps
	@dpkg -s time >/dev/null 2>&1 || $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time
	Benchmarks/run-corpus-bench.sh
	Benchmarks/run-example-bench.sh
	Benchmarks/run-lsi-bench.sh
	Benchmarks/run-cluster-bench.sh
	Benchmarks/run-wiki-bench.sh
	Benchmarks/run-similarity-bench.sh
	Benchmarks/run-lsi-sweep.sh
