# The Lovage image: the worker, the monitor and the console (docker-compose.yml picks the command). A full `npm install`, not --omit=dev: the worker loads TypeScript task modules
# through tsx at runtime. NODE_ENV is set only after the install, because npm omits dev dependencies when
# NODE_ENV=production.
FROM node:20-bookworm-slim

WORKDIR /app

COPY package.json package-lock.json ./
COPY packages/ ./packages/
COPY apps/ ./apps/
COPY prisma/ ./prisma/
# `npm install`, not `npm ci`: the lockfile records only the Linux optional packages (npm/cli#4828).
RUN npm install --no-audit --no-fund && npm cache clean --force
RUN npm run -w @lovage/web build

ENV NODE_ENV=production

CMD ["npx", "lovage", "worker", "-A", "./apps/worker/examples/tasks.ts", "--broker", "redis://redis:6379/0", "--result-backend", "redis://redis:6379/1", "--concurrency", "4", "-E"]
