# Huddle. `make run` builds and starts the server; `make test` installs what
# the tests need and runs all of them. See README.md.

GO        ?= go
BIN       := bin/huddle
WEB_SRC   := $(shell find web/src web/public web/index.html web/vite.config.ts web/tsconfig.json -type f 2>/dev/null)
GO_SRC    := $(shell find . -name '*.go' -not -path './node_modules/*' 2>/dev/null) go.mod go.sum $(wildcard internal/admin/static/*)

.PHONY: all build run web release docker-context test test-go test-web test-compat test-e2e setup-test node-deps bench soak fuzz clean cluster

all: build

build: $(BIN)

$(BIN): web/dist/index.html $(GO_SRC)
	$(GO) build -o $(BIN) ./cmd/huddle

run: build
	./$(BIN)

# Redis, three nodes and HAProxy on this machine, to try a cluster
# (README, Cluster): http://localhost:8080.
cluster: build
	scripts/cluster.sh

node-deps:
	@scripts/setup-node.sh

# The front end: TypeScript built by Vite into web/dist, embedded by go:embed,
# plus the socket.io client bundle served at /socket.io/socket.io.js.
web: web/dist/index.html

web/dist/index.html: $(WEB_SRC) package-lock.json
	@scripts/setup-node.sh
	npx vite build --config web/vite.config.ts --logLevel warn
	mkdir -p web/dist/vendor
	cp node_modules/socket.io-client/dist/socket.io.min.js web/dist/vendor/socket.io.js
	touch web/dist/.gitkeep

# Static release binaries for linux/amd64 and linux/arm64 in dist/, with
# SHA256SUMS; the version is git describe's (see scripts/release.sh).
release: web/dist/index.html
	scripts/release.sh

# The Docker build context in dist/docker: the static binary for this
# machine and its CA certificates (see Dockerfile and scripts/docker-context.sh).
docker-context: web/dist/index.html
	scripts/docker-context.sh

setup-test:
	@scripts/setup-test.sh

test: setup-test build
	$(MAKE) test-go test-web test-compat test-e2e

test-go:
	$(GO) vet ./...
	$(GO) test -race -count=1 -timeout 15m ./...
	$(GO) test -count=1 -run 'InANetworkNamespace' ./internal/sfu/ # timing tests, skipped under -race

test-web:
	npx tsc -p web/tsconfig.json --noEmit
	npx vitest run --config web/vite.config.ts

test-compat:
	node --test --test-concurrency=1 --test-timeout=120000 e2e/compat/

test-e2e:
	node --test --test-concurrency=1 --test-timeout=300000 e2e/browser/

bench: build
	bench/run.sh

soak: build
	bench/soak.sh

fuzz:
	scripts/fuzz.sh

clean:
	rm -rf bin dist web/dist/assets web/dist/vendor web/dist/index.html
