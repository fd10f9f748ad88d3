# tailseal container image. The builder compiles the native SQLite module (better-sqlite3) and the
# TypeScript; the runtime stage gets only what `tailseal` needs at run time. It runs as a non-root
# user and writes nothing outside its state directory, so it runs with a read-only root
# filesystem: mount the state directory (and the config and signing key) as volumes.
# test/integration/deploy.test.ts reads ENTRYPOINT, CMD, ENV, USER and HEALTHCHECK from this file
# and runs them against the repository's CLI.

# The base image for both stages. A tag can be moved to other content; for a reproducible build
# pin it by digest (docs/deploy.md "Pinning images"):
#   docker build --build-arg NODE_IMAGE=node:20-bookworm-slim@sha256:<digest> -t tailseal:0.1.0 .
ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
# node-gyp needs these when no prebuilt better-sqlite3 binary can be downloaded.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
# The lockfile pins what CI tested; install scripts run (better-sqlite3's native build).
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
# `npm run build` compiles src/ only here (test/ and bench/ are not in the build context's COPY) and
# builds the verifier page into dist/src/page/ with esbuild (a devDependency, pruned after); the
# CLI file gets its exec bit so the `tailseal` link below can run it through its shebang.
RUN npm run build \
 && npm prune --omit=dev --no-audit --no-fund \
 && chmod 0755 dist/src/cli/main.js

FROM ${NODE_IMAGE}
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist/src ./dist/src
COPY config ./config
# `tailseal` on PATH, as `npm install -g` would link it; npm and yarn are not needed at run time.
# 1000:1000 is the base image's `node` user; the state directory is its own.
RUN ln -s /app/dist/src/cli/main.js /usr/local/bin/tailseal \
 && rm -rf /usr/local/lib/node_modules/npm /usr/local/lib/node_modules/corepack /opt/yarn-* \
      /usr/local/bin/npm /usr/local/bin/npx /usr/local/bin/corepack /usr/local/bin/yarn /usr/local/bin/yarnpkg \
 && mkdir -p /var/lib/tailseal /etc/tailseal \
 && chown 1000:1000 /var/lib/tailseal \
 && chmod 0700 /var/lib/tailseal
# SQLite puts a temporary file (a large sort, a spilled statement journal) in SQLITE_TMPDIR; with a
# read-only root, /tmp is not writable, the state volume is.
ENV SQLITE_TMPDIR=/var/lib/tailseal
# V8's young generation grows to 2 x 16 MiB semi-spaces under a steady load and stays there; 4 MiB
# ones bound it: at a live 5,000 lines/s peak RSS 104 - 106 -> 83 MB for the same CPU (scavenges
# run more often but copy as little), and the start-up peak 83 -> 77 MB (docs/benchmarks.md).
# deploy/systemd/tailseal.service sets the same; `node --max-semi-space-size=4` anywhere else.
ENV NODE_OPTIONS=--max-semi-space-size=4
# The health check dials this URL: metrics.listen's port (127.0.0.1:9464 by default; 0.0.0.0:9464
# is reachable on 127.0.0.1 too). Override it with `-e` when the config uses another port.
ENV TAILSEAL_HEALTH_URL=http://127.0.0.1:9464/healthz
# Numeric, so Kubernetes' runAsNonRoot can check it without reading /etc/passwd.
USER 1000:1000
VOLUME ["/var/lib/tailseal"]
# The image has no curl: node's fetch asks /healthz. (Kubernetes ignores HEALTHCHECK and uses the
# probes in deploy/kubernetes.) A stall of the event loop or a dead listener fails it.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch(process.env.TAILSEAL_HEALTH_URL,{signal:AbortSignal.timeout(4000)}).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["tailseal"]
CMD ["run", "--config", "/etc/tailseal/tailseal.yaml"]
