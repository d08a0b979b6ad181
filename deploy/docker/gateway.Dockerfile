# syntax=docker/dockerfile:1
# Gateway shard: WebSocket on GATEWAY_PORT (8081), /livez /readyz /metrics on GATEWAY_INTERNAL_PORT (8091).
# Build from the repository root:  docker build -f deploy/docker/gateway.Dockerfile -t chat/gateway .
# Stages: build (all dependencies, TypeScript build) → prod-deps (production dependencies of this
# workspace only) → runtime (Debian slim: the native uWebSockets.js build needs glibc; non-root).
ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY . .
RUN npm ci --no-audit --no-fund && npx tsc -b gateway

FROM build AS prod-deps
# Production dependencies of this workspace only (some nest below shared/), then nothing but the
# node_modules trees and the package.json files the workspace links resolve through.
RUN rm -rf node_modules shared/node_modules shared/*/node_modules */node_modules \
 && npm ci --omit=dev --workspace=gateway --no-audit --no-fund \
 && find . -name node_modules -prune -o -type f ! -name package.json -exec rm -f {} +

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
# Two malloc arenas: GATEWAY_PROCESS_ENV in deploy/src/local/topology.ts (what it saves).
ENV MALLOC_ARENA_MAX=2
WORKDIR /app
COPY --from=prod-deps /app ./
COPY --from=build /app/shared/protocol/dist shared/protocol/dist
COPY --from=build /app/shared/server/dist shared/server/dist
COPY --from=build /app/gateway/dist gateway/dist
# The files belong to root and are read-only for the service's user.
USER node
EXPOSE 8081 8091
STOPSIGNAL SIGTERM
# V8 flags: GATEWAY_NODE_FLAGS in deploy/src/local/topology.ts (why, and what they were measured
# to save); npm start and the benchmarks run the gateway with the same ones.
CMD ["node", "--enable-source-maps", "--max-semi-space-size=8", "--heap-growing-percent=30", "gateway/dist/main.js"]
