// A module resolve hook for source checkouts: resolves the workspace packages through their
// "source" export condition (src/*.ts), as `node --conditions=source` would, so the CLI runs
// without `pnpm build`. Registered by switchboard.mjs only when dist/ is absent.
export async function resolve(specifier, context, nextResolve) {
  const conditions = context.conditions.includes('source') ? context.conditions : ['source', ...context.conditions];
  return nextResolve(specifier, { ...context, conditions });
}
