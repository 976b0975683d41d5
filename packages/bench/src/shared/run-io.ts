/** Where the run writes its progress (stderr in the CLI). */
export interface RunIo {
  log(line: string): void;
}

/** SIGINT/SIGTERM end the load early (the run still drains, reports and stops its children). */
export function installSignalStop(io: RunIo): { readonly aborted: boolean; dispose(): void } {
  const state = { aborted: false };
  const on = (sig: string) => {
    if (state.aborted) {
      io.log(`second ${sig}: exiting now`);
      process.exit(130);
    }
    state.aborted = true;
    io.log(`${sig}: ending the load early (again to exit at once)`);
  };
  const onInt = () => on('SIGINT');
  const onTerm = () => on('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  return {
    get aborted() {
      return state.aborted;
    },
    dispose() {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
    },
  };
}
