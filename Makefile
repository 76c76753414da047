# The two commands of the README:
#   make tutorial   build furious and execute the tutorial notebook headless
#   make test       run every test (Go, then the Jupyter client tests)
# Optional parts (OpenBLAS, EGL/GL) are detected by scripts/buildtags.sh.

# Packages are installed first (scripts/deps.sh), then tags are detected.
DEPS := $(shell scripts/deps.sh $(if $(filter test%,$(MAKECMDGOALS)),test,tutorial) >&2)
TAGS ?= $(shell scripts/buildtags.sh)
GO   ?= go
BIN  := bin/furious

.PHONY: build test test-go test-nocgo test-jupyter bench bench-compare tutorial generate clean

build:
	$(GO) build -tags '$(TAGS)' -o $(BIN) ./cmd/furious

test: test-go test-nocgo test-jupyter

test-go:
	@echo "build tags: '$(TAGS)'"
	$(GO) vet -tags '$(TAGS)' ./...
	$(GO) test -tags '$(TAGS)' $$($(GO) list ./... | grep -v /test/jupyter)

# The CPU paths must also build and pass without cgo (pure-Go gonum).
test-nocgo:
	CGO_ENABLED=0 $(GO) test ./tensor/... ./ssd/... ./backend/... ./gpu/... ./nn/...

# Real Jupyter clients (jupyter_client, nbclient, nbconvert, console) and the
# jupyter_kernel_test suite against a freshly built and installed kernel.
# Skips without the Debian packages, fails under CI=true.
test-jupyter:
	$(GO) test -count=1 -v ./test/jupyter/

bench:
	$(GO) test -tags '$(TAGS)' -run '^$$' -bench . -benchtime 20x ./ssd/... ./tensor/...

# Go chunked SSD vs the same algorithm in PyTorch CPU (needs Debian's python3-torch).
bench-compare:
	/usr/bin/python3 bench/compare.py --reps 5

clean:
	rm -rf bin
