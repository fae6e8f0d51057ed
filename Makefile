# MyCRT Captures. `make run` serves the API locally; `make test` runs every check.
DATA_DIR ?= .local
PORT ?= 3000
export DATA_DIR PORT
# The CDK CLI: no telemetry, and no end-of-life banner for the machine's Node.js 20.
export CDK_DISABLE_CLI_TELEMETRY = true
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION = 20
# The Go packages, named so that ./... does not wander into node_modules (the CDK CLI ships
# Go template files that do not compile).
PKGS = ./cmd/... ./functions/... ./infra/... ./pkg/...

.PHONY: run test token bench build synth deploy client web user

## run: serve the whole API and the web console on http://127.0.0.1:$(PORT) over DynamoDB Local,
## data in $(DATA_DIR)
run: web
	@mkdir -p $(DATA_DIR)/bin
	go build -o $(DATA_DIR)/bin/local ./cmd/local
	.ci/with-dynamodb --db-path $(DATA_DIR)/dynamodb $(DATA_DIR)/bin/local

## token: print a bearer token the local server accepts, e.g. make -s token USER=alice
token:
	@go run ./cmd/local token $(USER)

## test: build and synthesize (cdk-nag on); type-check and bundle the web console; lint the
## OpenAPI document (Redocly's recommended rules, the CLI pinned in package.json) and check the
## CLI's generated client and the console's generated types against it; the hygiene gate (gofmt -s, go mod tidy, staticcheck,
## go vet); then every test with the race detector, against a private in-memory DynamoDB Local,
## private MariaDB servers and headless Chromium, among them every bootstrap under AWS's Lambda
## Runtime Interface Emulator (the arm64 ones through qemu) and cfn-lint and cfn-guard's Control
## Tower rules on the template (Java, MariaDB, Percona Toolkit, sysbench, Chromium and
## qemu-user-static installed if missing)
STATICCHECK = honnef.co/go/tools/cmd/staticcheck@v0.8.2
OAPI_CODEGEN = github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen@v2.8.2
test: synth
	REDOCLY_TELEMETRY=off npx --no-install redocly lint --extends=recommended pkg/api/openapi.yaml
	@tmp=$$(mktemp -d) && go run $(OAPI_CODEGEN) -config pkg/client/oapi-codegen.yaml -o $$tmp/client.gen.go pkg/api/openapi.yaml && \
		if ! cmp -s $$tmp/client.gen.go pkg/client/client.gen.go; then \
			echo "pkg/client/client.gen.go is stale against pkg/api/openapi.yaml: run make client"; rm -rf $$tmp; exit 1; fi; rm -rf $$tmp
	@if ! node web/gen-api.mjs | cmp -s - web/src/api.gen.ts; then \
		echo "web/src/api.gen.ts is stale against pkg/api/openapi.yaml: run make client"; exit 1; fi
	.ci/deps
	@unformatted=$$(gofmt -s -l cmd functions infra pkg); \
		if [ -n "$$unformatted" ]; then echo "gofmt -s would change:"; echo "$$unformatted"; exit 1; fi
	go mod tidy -diff
	go run $(STATICCHECK) $(PKGS)
	.ci/with-dynamodb sh -c 'go vet $(PKGS) && go test -count=1 -race -timeout 15m $(PKGS)'

## bench: handler latency per endpoint beside its raw DynamoDB calls; scheduler lateness for
## 1,000 captures due within a minute (takes about 2.5 minutes); Lambda cold starts and sizes;
## 1,000,000 general-log rows turned into a stored workload (statements/s, peak RSS); digest
## folding (statements/s on one core, memory for 1,000,000 statements over 10,000 fingerprints)
## and fingerprint time per byte of hostile statements from 1 KB to 4 MB, cut and uncut;
## recording at scale: stop to DONE with 1,000,000 rows already logged, rows examined per
## collection, a tick for 10 captures against one, and 5 minutes of sysbench at full speed
## (lag in ticks, and the workload checked against the server's own log file); each API
## function's init (process start → first /next) against hello's, and its first invocation
## against a warm one; every bootstrap's size; assembling 1,000 fragments from an S3 answering
## after 10 ms, opened one at a time and a window ahead; a replay's report folded from outcome
## files (statements/s on one core, memory for 1,000,000 statements over 10,000 fingerprints)
## and the compare of two 1,000,000-statement replays against reading their two reports, and
## the round trips both cost on files that answer after 10 ms
## replay: prepare rate (workload → shards) and shard reading; an 8-thread sysbench capture
## replayed at speed 1 (lateness, per-second rate against the capture's, also with 4 s
## invocations, and over 2 minutes in 10 s invocations) and at speed 0 (against sysbench's own
## rate, with and without prepared statements); the replayer's peak memory for
## 1,000 sessions in one shard; a replayed statement's time against a bare driver loop's
bench:
	.ci/deps
	go test -run '^$$' -bench 'Fold$$|Fold1MMemory' -benchtime 2s -cpu 1 ./pkg/digest/
	go test -run '^$$' -bench 'Fold$$|Fold1MMemory|Compare1M|SlowStore' -benchtime 3x -cpu 1 ./pkg/report/
	go test -run '^$$' -bench 'Hostile' -benchtime 0.5s -cpu 1 ./pkg/digest/
	go test -run '^$$' -bench S3ConcatFragments -benchtime 2x ./pkg/blob/
	.ci/with-dynamodb go test -run '^$$' -bench Workload1M -benchtime 1x ./pkg/recording/
	.ci/with-dynamodb go test -run '^$$' -bench 'StopToDone1M|RowsExamined|TenCaptures|SysbenchLag' -benchtime 1x -timeout 30m ./pkg/recording/
	go test -run '^$$' -bench 'Prepare|ShardRead' -benchtime 2x -cpu 1 ./pkg/replay/
	.ci/with-dynamodb go test -run '^$$' -bench 'ReplaySysbench|Replay1000Sessions|ReplayOverhead|ReplayTenSecondInvocations' -benchtime 1x -timeout 30m ./pkg/replay/
	.ci/with-dynamodb sh -c 'go test -run "^$$" -bench . -benchtime 300x -count 3 ./pkg/api/ | tee /dev/stderr | go run ./cmd/benchratio'
	.ci/with-dynamodb go test -run '^$$' -bench Scheduler1000 -benchtime 1x -timeout 10m ./pkg/lifecycle/
	$(MAKE) build
	.ci/with-dynamodb go test -run '^$$' -bench ColdStart -benchtime 20x ./pkg/app/
	.ci/with-dynamodb go test -run '^$$' -bench Init -benchtime 1x ./pkg/app/
	@ls -l build/*/bootstrap | awk '{printf "%-40s %6.2f MB\n", $$9, $$5/1e6}'

## client: regenerate from pkg/api/openapi.yaml the CLI's API client (pkg/client, by oapi-codegen)
## and the web console's types and lists (web/src/api.gen.ts, by openapi-typescript)
client: node_modules/.bin/cdk
	go run $(OAPI_CODEGEN) -config pkg/client/oapi-codegen.yaml -o pkg/client/client.gen.go pkg/api/openapi.yaml
	node web/gen-api.mjs > web/src/api.gen.ts.tmp && mv web/src/api.gen.ts.tmp web/src/api.gen.ts

## build: every Lambda bootstrap, for linux/arm64 as the stack deploys them
build:
	@for fn in functions/*/; do \
		name=$$(basename $$fn); \
		GOOS=linux GOARCH=arm64 CGO_ENABLED=0 go build -trimpath -tags lambda.norpc -ldflags '-s -w' \
			-o build/$$name/bootstrap ./$$fn || exit 1; \
	done

## web: type-check the web console (TypeScript) and bundle it with esbuild into web/dist
WEB_SRC = $(wildcard web/src/* web/src/*/*) web/index.html web/tsconfig.json
web: web/dist/main.js
web/dist/main.js: $(WEB_SRC) node_modules/.bin/cdk
	npx --no-install tsc -p web
	npx --no-install esbuild web/src/main.ts --bundle --minify --sourcemap --target=es2022 --format=esm \
		--outdir=web/dist --log-level=warning
	cp web/index.html web/dist/index.html

node_modules/.bin/cdk: package.json package-lock.json
	npm ci --no-audit --no-fund --silent
	@touch $@

## synth: the CloudFormation template in cdk.out, offline, failing on any cdk-nag error
synth: build web node_modules/.bin/cdk
	npx cdk synth --no-notices --quiet

## deploy: deploy the stack to the AWS account and region your credentials name (not run here)
deploy: build web node_modules/.bin/cdk
	npx cdk deploy --no-notices

## user: create a console user in the deployed stack, e.g. make user EMAIL=dba@example.com
## (USER_NAME defaults to the address's local part); Cognito emails a temporary password.
## Both come from the command line only, never from an EMAIL in your environment.
cmdline = $(if $(filter command line,$(origin $(1))),$($(1)))
user:
	@infra/create-user "$(call cmdline,EMAIL)" "$(call cmdline,USER_NAME)"
