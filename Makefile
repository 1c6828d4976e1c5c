# coprod — the two commands a newcomer needs are `make run` and `make test`.
GO      ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
# The image builds with exactly these flags (deploy/container/Containerfile;
# deploy/image_test.go checks that both say the same).
BUILD_FLAGS = -trimpath -ldflags "-s -w -X main.version=$(VERSION)"

.PHONY: run test build image vet bench fuzz clean

## run: start everything locally (PostgreSQL under .coprod/, demo data, API on 127.0.0.1:8080)
run:
	$(GO) run ./cmd/coprod dev

## test: vet, then every test against real PostgreSQL (started by the tests themselves)
test: vet
	$(GO) test -count=1 -timeout 20m ./...

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

## fuzz: a short run of each fuzz target
fuzz:
	$(GO) test ./tenants/istat -run='^$$' -fuzz=FuzzParse -fuzztime=30s

clean:
	rm -rf bin
