import { configDefaults, defineConfig } from 'vitest/config';

// Three projects (style guide §10): unit tests need nothing; integration tests need Redis and
// RabbitMQ; cluster tests spawn real gateway and dispatch processes. A fourth, containers, builds the image and runs
// docker-compose.yml and testcontainers on podman (test/deploy/containers), never alongside another project: its
// groupOrder puts it after unit and integration, and vitest runs the sequential cluster project last. Skipped without
// podman outside CI.
const shared = {
  resolve: { conditions: ['source'] },
  ssr: { resolve: { conditions: ['source'], externalConditions: ['source'] } },
};

export default defineConfig({
  test: {
    projects: [
      {
        ...shared,
        test: {
          name: 'unit',
          include: ['packages/*/test/unit/**/*.test.ts'],
          testTimeout: 20_000,
        },
      },
      {
        ...shared,
        test: {
          name: 'integration',
          include: ['packages/*/test/integration/**/*.test.ts'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
      {
        ...shared,
        test: {
          name: 'cluster',
          include: ['test/**/*.test.ts'],
          exclude: [...configDefaults.exclude, 'test/deploy/containers/**'],
          testTimeout: 180_000,
          hookTimeout: 120_000,
          fileParallelism: false,
        },
      },
      {
        ...shared,
        test: {
          name: 'containers',
          include: ['test/deploy/containers/**/*.test.ts'],
          globalSetup: ['test/deploy/containers/global-setup.ts'],
          testTimeout: 600_000,
          hookTimeout: 1_500_000,
          fileParallelism: false,
          // Its own group: the image build and the containers take both cores.
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
