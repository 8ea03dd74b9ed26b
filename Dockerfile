# One image for every app: scheduler, worker, board (and the all-in-one).
FROM node:20-bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ffmpeg util-linux ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY . .
RUN npm ci --omit=dev --no-audit --no-fund && node scripts/build.mjs && npm cache clean --force
ENV NODE_ENV=production LOG_FORMAT=json RECORDER_CONFIG=/config/cameras.yml RECORDINGS_DIR=/recordings
# Each service picks its app: dist/scheduler.mjs, dist/worker.mjs or dist/board.mjs (bundles built above).
CMD ["node", "--max-semi-space-size=1", "--single-threaded-gc", "dist/all-in-one.mjs"]
