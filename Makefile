# coprod — the two commands a newcomer needs are `make run` and `make test`.
GO      ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
# The image builds with exactly these flags (deploy/container/Containerfile;
# deploy/image_test.go checks that both say the same).
BUILD_FLAGS = -trimpath -ldflags "-s -w -X main.version=$(VERSION)"

.PHONY: run test build image vet bench fuzz fuzz-short clean

## run: start everything locally (PostgreSQL under .coprod/, demo data, API on 127.0.0.1:8080)
run:
	$(GO) run ./cmd/coprod dev

## test: vet, then every test against real PostgreSQL (started by the tests themselves), then a short fuzzing run
test: vet
	$(GO) test -count=1 -timeout 20m ./...
	@$(MAKE) --no-print-directory fuzz-short

vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet ./...

## build: the static binary, as the container image builds it
build:
	CGO_ENABLED=0 $(GO) build $(BUILD_FLAGS) -o bin/coprod ./cmd/coprod

## image: the container image, where a container engine exists (podman or docker; docker finds the
## ignore file by its name, podman is told)
ENGINE ?= podman
image:
	$(ENGINE) build -f deploy/container/Containerfile $(if $(findstring podman,$(ENGINE)),--ignorefile deploy/container/Containerfile.dockerignore) \
		--build-arg VERSION=$(VERSION) -t coprod:$(VERSION) .

## bench: benchmarks (figures, not pass/fail)
bench:
	$(GO) test -run='^$$' -bench=. -benchmem -v ./...

# Fuzz targets as package:Target:inputs of make test's short run (ADR 0021).
# Counts, not durations: Go 1.26 may fail a -fuzztime=<duration> run with a
# spurious "context deadline exceeded" (golang/go#75804). go test -fuzz takes
# one target per invocation; one worker each, the machine is shared. The HTTP
# targets hold state, so minimizing what they find is short. Seeds
# (testdata/fuzz/<Target>) also run in every go test.
FUZZ_TARGETS = ./cmd/coprod:FuzzRequestBodies:3000 ./cmd/coprod:FuzzAttachments:400 \
	./domain/organisation:FuzzValidFiscalCode:60000 ./tenants/istat:FuzzParse:20000 \
	./domain/blob:FuzzSniff:50000 ./domain/blob:FuzzValidName:50000 \
	./domain/evaluation:FuzzConsolidate:20000 ./domain/report:FuzzSuppress:20000 ./domain/payment:FuzzCompute:20000
# make fuzz FUZZ_SCALE=50: every target fifty times as many inputs.
FUZZ_SCALE ?= 12

define run_fuzz
	@set -e; for t in $(FUZZ_TARGETS); do \
	  pkg=$${t%%:*}; rest=$${t#*:}; name=$${rest%%:*}; n=$$(( $${rest#*:} * $(1) )); \
	  echo "fuzz $$name in $$pkg: $$n inputs"; \
	  $(GO) test $$pkg -run='^$$' -fuzz="^$$name\$$" -fuzztime=$${n}x -fuzzminimizetime=5s -parallel=1; \
	done
endef

## fuzz-short: each fuzz target briefly (part of make test): no panic, no 5xx
fuzz-short:
	$(call run_fuzz,1)

## fuzz: each fuzz target for longer (FUZZ_SCALE times the inputs of the short run; 12: several minutes)
fuzz:
	$(call run_fuzz,$(FUZZ_SCALE))

clean:
	rm -rf bin
