# Gatewave: run `make help` for the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

GOBIN   := $(shell go env GOPATH)/bin
export PATH := $(GOBIN):$(PATH)
export GOFLAGS := -buildvcs=false

# Every Go module listed in go.work.
MODULES := $(shell go list -m -f '{{.Dir}}' 2>/dev/null)
BIN     := $(CURDIR)/bin
RUN_DIR := $(CURDIR)/.run

FRONTEND_SRC := $(shell find frontend -path frontend/node_modules -prune -o -path frontend/dist -prune -o -path frontend/test-results -prune -o -type f -print 2>/dev/null)

.PHONY: help bootstrap services frontend build lint test test-go test-frontend bench run run-local images desktop up down cross clean

help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

bootstrap: ## Install missing Debian and npm packages (idempotent, quiet when present)
	@bash scripts/bootstrap.sh

services: bootstrap ## Start dockerd (and a second one with user-namespace remapping), PostgreSQL and the object store for tests when they are not running
	@bash scripts/dockerd.sh
	@bash scripts/dockerd-userns.sh >/dev/null
	@if [ -f scripts/postgres.sh ]; then bash scripts/postgres.sh >/dev/null; fi
	@bash scripts/objstore.sh >/dev/null

frontend/dist/index.html: $(FRONTEND_SRC)
	@if [ -f frontend/package.json ]; then cd frontend && npm run --silent build; fi

frontend: bootstrap frontend/dist/index.html ## Build the browser IDE into frontend/dist

# Every binary is stamped with the release in VERSION (shared/buildinfo).
VERSION := $(shell cat VERSION)
LDFLAGS := -X gatewave.dev/shared/buildinfo.Version=$(VERSION)

build: frontend ## Build every binary into bin/ (stamped with the release in VERSION)
	@mkdir -p $(BIN)
	cd sessiond && CGO_ENABLED=0 go build -ldflags "$(LDFLAGS)" -o $(BIN)/sessiond ./cmd/sessiond
	@for m in cloud nodegw; do \
	  if [ -d $$m/cmd/$$m ]; then (cd $$m && go build -ldflags "$(LDFLAGS)" -o $(BIN)/$$m ./cmd/$$m) || exit 1; fi; \
	done

test: services build lint cross test-go test-frontend ## Run the linters, every module's tests and the frontend's tests

lint: ## gofmt, go vet and staticcheck on every module, tsc --noEmit on the frontend
	@bad=$$(gofmt -l $(MODULES) 2>/dev/null | grep -v /node_modules/); \
	if [ -n "$$bad" ]; then echo "gofmt: not formatted:"; echo "$$bad"; exit 1; fi
	@failed=""; for m in $(MODULES); do \
	  (cd $$m && go vet ./... && $(GOBIN)/staticcheck ./...) || failed="$$failed $${m#$(CURDIR)/}"; \
	done; \
	if [ -n "$$failed" ]; then echo "lint failed in:$$failed"; exit 1; fi
	@if [ -f frontend/package.json ]; then cd frontend && npx tsc --noEmit; fi

test-go:
	@failed=""; for m in $(MODULES); do \
	  echo "== go test $${m#$(CURDIR)/}"; \
	  (cd $$m && GATEWAVE_TEST_DATABASE_URL="$$(bash $(CURDIR)/scripts/postgres.sh)" \
	    GATEWAVE_TEST_S3_URL="$$(bash $(CURDIR)/scripts/objstore.sh)" \
	    GATEWAVE_TEST_USERNS_DOCKER="$$(bash $(CURDIR)/scripts/dockerd-userns.sh)" \
	    SESSIOND_BIN=$(BIN)/sessiond ARTIFACTS_DIR=$(CURDIR)/test-results go test -count=1 -timeout 15m ./...) \
	    || failed="$$failed $${m#$(CURDIR)/}"; \
	done; \
	if [ -n "$$failed" ]; then echo "go test failed in:$$failed"; exit 1; fi

test-frontend:
	@if [ -f frontend/package.json ]; then \
	  cd frontend && npm test && SESSIOND_BIN=$(BIN)/sessiond CLOUD_BIN=$(BIN)/cloud NODEGW_BIN=$(BIN)/nodegw \
	    GATEWAVE_TEST_DATABASE_URL="$$(bash $(CURDIR)/scripts/postgres.sh)" npm run e2e; \
	fi

bench: services build ## Run the benchmarks (ratios against baselines measured in the same run)
	@failed=""; for m in $(MODULES); do \
	  echo "== go bench $${m#$(CURDIR)/}"; \
	  (cd $$m && GATEWAVE_TEST_DATABASE_URL="$$(bash $(CURDIR)/scripts/postgres.sh)" \
	    GATEWAVE_TEST_S3_URL="$$(bash $(CURDIR)/scripts/objstore.sh)" \
	    SESSIOND_BIN=$(BIN)/sessiond go test -run '^$$' -bench . -benchtime 1x -timeout 30m ./...) \
	    || failed="$$failed $${m#$(CURDIR)/}"; \
	done; \
	if [ -f frontend/package.json ]; then \
	  (cd frontend && SESSIOND_BIN=$(BIN)/sessiond npm run --silent bench) || failed="$$failed frontend"; \
	fi; \
	if [ -n "$$failed" ]; then echo "bench failed in:$$failed"; exit 1; fi

run: build ## The whole flow on this machine: PostgreSQL, cloud, one nodegw with a warm pool; prints the URL and a demo sign-in
	bash scripts/run-cloud.sh

run-local: build ## Serve the sample workspace with sessiond alone and print its URL and token
	@mkdir -p $(RUN_DIR)
	@if [ ! -d $(RUN_DIR)/workspace ]; then cp -r examples/blinky $(RUN_DIR)/workspace; fi
	$(BIN)/sessiond serve --root $(RUN_DIR)/workspace --listen 127.0.0.1:7420

images: services ## Build the container images without a registry (FROM scratch, and mmdebstrap + docker import)
	bash images/build.sh all

up: bootstrap ## Production on this server with docker-compose: build the images, start, wait, print the URL and the first admin's password file
	@bash scripts/dockerd.sh
	bash scripts/deploy.sh up

down: ## Stop the docker-compose deployment; its data (volumes, deploy directory) stays for the next make up
	bash scripts/deploy.sh down

# The Windows gateway: built, vetted and staticchecked as Windows sees it
# (only the packages its binary links: batch tasks stay Linux-only).
cross: ## Cross-compile nodegw for Windows nodes into bin/windows-amd64/nodegw.exe, with vet and staticcheck of that build
	@mkdir -p $(BIN)/windows-amd64
	cd nodegw && GOOS=windows GOARCH=amd64 CGO_ENABLED=0 go build -ldflags "-X gatewave.dev/shared/buildinfo.Version=$$(cat ../VERSION)" -o $(BIN)/windows-amd64/nodegw.exe ./cmd/nodegw
	@cd nodegw && pkgs=$$(GOOS=windows go list -deps ./cmd/nodegw | grep '^gatewave.dev/nodegw') && \
	  GOOS=windows GOARCH=amd64 go vet $$pkgs && GOOS=windows GOARCH=amd64 $(GOBIN)/staticcheck $$pkgs

desktop: frontend ## Build the Wails desktop app into bin/gatewave-desktop
	cd desktop && go build -tags desktop,production -ldflags "-s -w" -o $(BIN)/gatewave-desktop ./cmd/gatewave-desktop

clean: ## Remove build outputs
	rm -rf $(BIN) frontend/dist/assets frontend/dist/index.html
