# The two commands of the README:
#   make tutorial   build furious and execute the tutorial notebook headless
#   make test       run every test (Go, then the Jupyter client tests)
# Optional parts (OpenBLAS, EGL/GL) are detected by scripts/buildtags.sh.

# Packages are installed first (scripts/deps.sh), then tags are detected.
DEPS := $(shell scripts/deps.sh $(if $(filter test%,$(MAKECMDGOALS)),test,tutorial) >&2)
TAGS ?= $(shell scripts/buildtags.sh)
GO   ?= go
BIN  := bin/furious

.PHONY: build test test-go test-nocgo test-jupyter test-notebooks bench bench-compare bench-train bench-kernel tutorial generate clean

build:
	$(GO) build -tags '$(TAGS)' -o $(BIN) ./cmd/furious

test: test-go test-nocgo test-jupyter test-notebooks

test-go:
	@echo "build tags: '$(TAGS)'"
	$(GO) vet -tags '$(TAGS)' ./...
	$(GO) test -tags '$(TAGS)' $$($(GO) list ./... | grep -v -e /test/jupyter -e /test/notebooks -e /test/browser)

# The CPU paths must also build and pass without cgo (pure-Go gonum).
test-nocgo:
	CGO_ENABLED=0 $(GO) test ./tensor/... ./ssd/... ./backend/... ./gpu/... ./nn/...

# Real Jupyter clients (jupyter_client, nbclient, nbconvert, console) and the
# jupyter_kernel_test suite against a freshly built and installed kernel.
# Skips without the Debian packages, fails under CI=true.
test-jupyter:
	$(GO) test -count=1 -v ./test/jupyter/

# Every notebook in notebooks/ re-executed twice (furious run; nbconvert through
# the installed kernelspec), then a real browser (chromium + jupyter-notebook)
# runs a figure cell. Skip without the Debian packages, fail under CI=true.
test-notebooks:
	TAGS='$(TAGS)' $(GO) test -count=1 -timeout 15m -v ./test/notebooks/ ./test/browser/

# The tutorial notebook, executed headless on this machine (CPU without a GPU).
tutorial: build
	@mkdir -p out
	$(BIN) run notebooks/01-ssd-duality.ipynb -o out/01-ssd-duality.ipynb
	@echo "tutorial output: out/01-ssd-duality.ipynb (open it with: jupyter notebook out/01-ssd-duality.ipynb)"

bench:
	$(GO) test -tags '$(TAGS)' -run '^$$' -bench . -benchtime 20x ./ssd/... ./tensor/...

# Training throughput per preset (2 layers, d_model 128, 4 heads, L 256), each row
# with its gradients checked against the float64 CPU model; DEVICE=gpu for the GPU.
bench-train: build
	$(BIN) bench --train --device $(or $(DEVICE),cpu) --reps 5

# Kernel launch time, execute round trip and idle memory through jupyter_client,
# written to bench/results/kernel-latency.json (also printed as a BENCH line).
bench-kernel:
	FURIOUS_BENCH_OUT=$(CURDIR)/bench/results/kernel-latency.json $(GO) test -count=1 -v -run 'TestJupyterClients/jupyter_client' ./test/jupyter/ | grep -E 'BENCH|^(ok|FAIL|---)'

# Go chunked SSD vs the same algorithm in PyTorch CPU (needs Debian's python3-torch).
bench-compare:
	/usr/bin/python3 bench/compare.py --reps 5

clean:
	rm -rf bin
