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
RUN rm -rf node_modules && npm ci --omit=dev --workspace=gateway --no-audit --no-fund

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY --from=prod-deps --chown=root:root /app/node_modules node_modules
COPY --from=build /app/package.json package.json
COPY --from=build /app/shared/protocol/package.json shared/protocol/package.json
COPY --from=build /app/shared/protocol/dist shared/protocol/dist
COPY --from=build /app/shared/server/package.json shared/server/package.json
COPY --from=build /app/shared/server/dist shared/server/dist
COPY --from=build /app/gateway/package.json gateway/package.json
COPY --from=build /app/gateway/dist gateway/dist
# The files belong to root and are read-only for the service's user.
USER node
EXPOSE 8081 8091
STOPSIGNAL SIGTERM
CMD ["node", "--enable-source-maps", "gateway/dist/main.js"]
