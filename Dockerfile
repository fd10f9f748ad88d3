# tailseal container image: build the native SQLite module and the TypeScript in a builder,
# ship only the runtime files on a slim base, run as a non-root user.

FROM node:20-bookworm-slim AS build
WORKDIR /app
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
COPY test ./test
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist/src ./dist/src
COPY config ./config
# State, keys and the config live on volumes, so the root filesystem can be read-only.
RUN mkdir -p /var/lib/tailseal /etc/tailseal && chown node:node /var/lib/tailseal
USER node
VOLUME ["/var/lib/tailseal"]
ENTRYPOINT ["node", "/app/dist/src/cli/main.js"]
CMD ["run", "--config", "/etc/tailseal/tailseal.yaml"]
