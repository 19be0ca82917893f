# usersig-service: build the TypeScript, then run it on a slim Node LTS as a non-root user.
# Checked without a Docker engine by test/deploy/dockerfile.test.ts (policy) and replayed step by
# step by `npm run test:image` (test/deploy/image.ts).

# Node 26 is the Active LTS line (since October 2026, supported until April 2029; 24 is in
# maintenance until April 2028, 22 until April 2027). CI runs the whole test suite on this major
# too (scripts/with-node-lts.sh). For reproducible builds, pin the digest as well:
# node:26-bookworm-slim@sha256:<digest>.
FROM node:26-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: the build needs no install script (tsc is plain JavaScript), and none of the
# dependencies' scripts (esbuild's binary check, swagger-ui's analytics) runs at build time.
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY tsconfig.json tsconfig.build.json openapi.yaml ./
COPY config ./config
COPY src ./src
COPY public ./public
RUN npm run build && npm prune --omit=dev

FROM node:26-bookworm-slim AS runtime
ENV NODE_ENV=production HOST=0.0.0.0 PORT=8080
WORKDIR /app
# Files belong to root and are read-only to the service. Nothing is written at run time, so the
# root filesystem can be mounted read-only.
COPY --from=build --chown=root:root /app/package.json ./
COPY --from=build --chown=root:root /app/node_modules ./node_modules
COPY --from=build --chown=root:root /app/dist ./dist
COPY --from=build --chown=root:root /app/openapi.yaml ./
COPY --from=build --chown=root:root /app/config ./config
COPY --from=build --chown=root:root /app/public ./public
# The image's `node` user, by number: Kubernetes' runAsNonRoot can only check a numeric user.
USER 1000:1000
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=3s --start-period=5s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# Exec form: node runs as PID 1 itself (no shell, no npm in between), so SIGTERM reaches it and it
# drains (SHUTDOWN_DELAY_MS, SHUTDOWN_TIMEOUT_MS). It handles SIGTERM and SIGINT itself.
# A 4 MiB young-generation semi-space keeps RSS under 150 MB under load, for ~5 % of throughput
# (docs/performance.md); `npm start` and `npm run bench` run the same command line.
CMD ["node", "--max-semi-space-size=4", "dist/main.js"]
