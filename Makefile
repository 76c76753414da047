# The two commands of the README:
#   make tutorial   build furious and execute the tutorial notebook headless
#   make test       run every test (Go, then the Jupyter client tests)
# Optional parts (OpenBLAS, EGL/GL) are detected by scripts/buildtags.sh.

TAGS ?= $(shell scripts/buildtags.sh)
GO   ?= go
BIN  := bin/furious

.PHONY: build test test-go test-nocgo bench bench-compare tutorial generate clean

build:
	$(GO) build -tags '$(TAGS)' -o $(BIN) ./cmd/furious

test: test-go test-nocgo

test-go:
	@echo "build tags: '$(TAGS)'"
	$(GO) vet -tags '$(TAGS)' ./...
	$(GO) test -tags '$(TAGS)' ./...

# The CPU paths must also build and pass without cgo (pure-Go gonum).
test-nocgo:
	CGO_ENABLED=0 $(GO) test ./tensor/... ./ssd/... ./backend/... ./gpu/... ./nn/...

bench:
	$(GO) test -tags '$(TAGS)' -run '^$$' -bench . -benchtime 20x ./ssd/... ./tensor/...

# Go chunked SSD vs the same algorithm in PyTorch CPU (needs Debian's python3-torch).
bench-compare:
	/usr/bin/python3 bench/compare.py --reps 5

clean:
	rm -rf bin
