# syntax=docker/dockerfile:1
# One-shot bootstrap against existing Redis, Kafka, Cassandra and S3 (REDIS_URL, KAFKA_BROKERS,
# CASSANDRA_CONTACT_POINTS, S3_ENDPOINT all set): waits for them, creates the Kafka topics, applies
# deploy/cassandra/*.cql and creates the attachments bucket; starts nothing. Run it before the
# services on every release (it is idempotent).
# Build from the repository root:  docker build -f deploy/docker/migrate.Dockerfile -t chat/migrate .
ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY . .
RUN npm ci --no-audit --no-fund && npx tsc -b deploy

FROM build AS prod-deps
# Production dependencies of this workspace only (some nest below shared/), then nothing but the
# node_modules trees and the package.json files the workspace links resolve through.
RUN rm -rf node_modules shared/node_modules shared/*/node_modules */node_modules \
 && npm ci --omit=dev --workspace=deploy --no-audit --no-fund \
 && find . -name node_modules -prune -o -type f ! -name package.json -exec rm -f {} +

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production CHAT_DATA_DIR=/tmp/chat-data CHAT_CACHE_DIR=/tmp/chat-cache
WORKDIR /app
COPY --from=prod-deps /app ./
COPY --from=build /app/shared/protocol/dist shared/protocol/dist
COPY --from=build /app/shared/server/dist shared/server/dist
COPY --from=build /app/deploy/dist deploy/dist
COPY --from=build /app/deploy/cassandra deploy/cassandra
# The files belong to root and are read-only for the service's user.
USER node
CMD ["node", "deploy/dist/local/cli.js", "up"]
