# The Kafka gateway's image (lib/kafka-gateway.ts): `streambed kafka-gateway` on Node.js, arm64.
# Built by `cdk deploy` with the repository as its context (.dockerignore keeps the context to what is
# copied here). The CLI is bundled with esbuild, its packages left external: the image holds the bundle
# and the production dependencies only.
FROM public.ecr.aws/docker/library/node:24-bookworm-slim AS build
# Build tools, in case better-sqlite3 (the embedded backend's driver) has no prebuilt binary to fetch.
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY client client
COPY lambdas lambdas
RUN npx esbuild lambdas/runtime/cli.ts --bundle --platform=node --format=esm --target=node24 \
      --packages=external --sourcemap --outfile=dist/streambed.mjs \
 && npm prune --omit=dev

FROM public.ecr.aws/docker/library/node:24-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules node_modules
COPY --from=build /app/dist dist
USER node
EXPOSE 9092
ENTRYPOINT ["node", "--enable-source-maps", "dist/streambed.mjs"]
CMD ["kafka-gateway", "--backend", "aws", "--host", "0.0.0.0"]
