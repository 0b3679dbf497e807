# The supernode service image: one image for every role (actor hosts of NPUs and switches, the
# coordinator, any CLI command), chosen by the command (see deploy/image/entrypoint.sh).
#
# Offline by design: nothing is downloaded during the build. node_modules (production only) and dist/
# come from the host — run `bash deploy/build-images.sh`, which stages them and builds this file.
# The base images are arguments: the public ones by default; build-images.sh passes local ones made
# without any registry (supernode/node-base:20, supernode/nats:2.9.10).
ARG NODE_IMAGE=node:20-bookworm-slim
ARG NATS_IMAGE=nats:2.9

# The nats-server binary, so `supernode run` inside the image can start its private server.
FROM ${NATS_IMAGE} AS nats

FROM ${NODE_IMAGE}
LABEL io.supernode.image="service"
# Root only while building (the local base image's default user is node).
USER root
# MALLOC_MMAP_THRESHOLD_: glibc's default pinned, so freed 1 MB message buffers go back to the system
# (services/coordinator/launcher.ts hostEnv does the same for the hosts it starts).
ENV NODE_ENV=production \
    MALLOC_MMAP_THRESHOLD_=131072 \
    NATS_SERVER_BIN=/usr/local/bin/nats-server
COPY --from=nats /nats-server /usr/local/bin/nats-server
WORKDIR /app
COPY package.json ./
COPY deploy/.stage/node_modules ./node_modules
COPY dist/shared ./dist/shared
COPY dist/services ./dist/services
COPY deploy/image ./deploy/image
# Reports go to /app/out by default: the one writable place under /app.
RUN mkdir -p /app/out && chown 1000:1000 /app/out
# uid 1000 is `node` in the public image and in supernode/node-base.
USER 1000:1000
HEALTHCHECK --interval=5s --timeout=3s --start-period=10s --retries=3 CMD ["node", "/app/deploy/image/healthcheck.mjs"]
ENTRYPOINT ["/app/deploy/image/entrypoint.sh"]
CMD ["run"]
