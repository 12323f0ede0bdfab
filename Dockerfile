# media-node: the stateless media service (sharp + ffmpeg). The draft model server is not in it
# (it runs as its own process on the local stack only; test/structure.test.ts checks this image).
# Build: docker build -t adreel-media-node .
# Run:   docker run -p 8788:8788 -e MEDIA_NODE_SECRET=... adreel-media-node
FROM node:22-bookworm-slim

# Debian's ffmpeg (5.1, with xfade, loudnorm, ebur128 and libass for burned captions); the DejaVu
# fonts overlays and captions name by file; tini reaps ffmpeg children.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ffmpeg fonts-dejavu-core tini ca-certificates \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY package.json package-lock.json ./
# Production dependencies only (fastify, sharp with its prebuilt libvips, zod).
RUN npm install --omit=dev --no-audit --no-fund && npm cache clean --force

COPY contracts ./contracts
COPY lib ./lib
COPY media-node ./media-node
COPY tsconfig.json ./

# MALLOC_ARENA_MAX: glibc's malloc arenas, one per allocating thread (libuv's pool runs sharp),
# keep their fragments resident; two bound them (media-node/capacity.ts).
# NODE_OPTIONS: V8's young generation at 4 MiB semi-spaces, not 16 (media-node/capacity.ts).
ENV NODE_ENV=production \
    MALLOC_ARENA_MAX=2 \
    NODE_OPTIONS=--max-semi-space-size=4 \
    MEDIA_NODE_HOST=0.0.0.0 \
    MEDIA_NODE_PORT=8788 \
    MEDIA_NODE_TMP=/tmp
EXPOSE 8788
USER node
HEALTHCHECK --interval=30s --timeout=3s CMD node -e "fetch('http://127.0.0.1:8788/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
ENTRYPOINT ["/usr/bin/tini", "--"]
# Node 22 strips the TypeScript types as it loads each file (tsconfig.json erasableSyntaxOnly):
# no transpiler, and no esbuild process, beside the server.
CMD ["node", "media-node/main.ts"]
