# syntax=docker/dockerfile:1
# chat-service: REST on CHAT_HTTP_PORT (8080), internal API, /livez /readyz /metrics on CHAT_INTERNAL_PORT (8085); CHAT_SERVICE_ROLES picks api, sequencer, inbox.
# Build from the repository root:  docker build -f deploy/docker/chat-service.Dockerfile -t chat/chat-service .
# Stages: build (all dependencies, TypeScript build) → prod-deps (production dependencies of this
# workspace only) → runtime (Debian slim: the native uWebSockets.js build needs glibc; non-root).
ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY . .
RUN npm ci --no-audit --no-fund && npx tsc -b chat-service

FROM build AS prod-deps
# Production dependencies of this workspace only (some nest below shared/), then nothing but the
# node_modules trees and the package.json files the workspace links resolve through.
RUN rm -rf node_modules shared/node_modules shared/*/node_modules */node_modules \
 && npm ci --omit=dev --workspace=chat-service --no-audit --no-fund \
 && find . -name node_modules -prune -o -type f ! -name package.json -exec rm -f {} +

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY --from=prod-deps /app ./
COPY --from=build /app/shared/protocol/dist shared/protocol/dist
COPY --from=build /app/shared/server/dist shared/server/dist
COPY --from=build /app/chat-service/dist chat-service/dist
# The files belong to root and are read-only for the service's user.
USER node
EXPOSE 8080 8085
STOPSIGNAL SIGTERM
CMD ["node", "--enable-source-maps", "--max-semi-space-size=64", "chat-service/dist/main.js"]
