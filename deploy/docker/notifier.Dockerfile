# syntax=docker/dockerfile:1
# Notifier: pushes through FCM (FCM_PROJECT_ID, FCM_CREDENTIALS_FILE); /livez /readyz /metrics on NOTIFIER_INTERNAL_PORT (8086).
# Build from the repository root:  docker build -f deploy/docker/notifier.Dockerfile -t chat/notifier .
# Stages: build (all dependencies, TypeScript build) → prod-deps (production dependencies of this
# workspace only) → runtime (Debian slim: the native uWebSockets.js build needs glibc; non-root).
ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY . .
RUN npm ci --no-audit --no-fund && npx tsc -b notifier

FROM build AS prod-deps
# Production dependencies of this workspace only (some nest below shared/), then nothing but the
# node_modules trees and the package.json files the workspace links resolve through.
RUN rm -rf node_modules shared/node_modules shared/*/node_modules */node_modules \
 && npm ci --omit=dev --workspace=notifier --no-audit --no-fund \
 && find . -name node_modules -prune -o -type f ! -name package.json -exec rm -f {} +

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY --from=prod-deps /app ./
COPY --from=build /app/shared/protocol/dist shared/protocol/dist
COPY --from=build /app/shared/server/dist shared/server/dist
COPY --from=build /app/notifier/dist notifier/dist
# The files belong to root and are read-only for the service's user.
USER node
EXPOSE 8086
STOPSIGNAL SIGTERM
CMD ["node", "--enable-source-maps", "notifier/dist/main.js"]
