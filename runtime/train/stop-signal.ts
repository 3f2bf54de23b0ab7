// Ctrl-C handling of a training run (runtime/train): the first SIGINT (or SIGTERM) asks the loop to
// stop at the next step boundary, where it saves a checkpoint and ends the run log as
// `interrupted`; a second one exits at once (status 130) without saving. The loop polls `reason`
// between steps, so a step is never cut in half and the checkpoint is always of a whole step.

export type StopReason = 'SIGINT' | 'SIGTERM';

export class StopSignal {
  reason: StopReason | undefined = undefined;
  readonly #handlers: [StopReason, () => void][] = [];

  /** Registers the process signal handlers; `say` prints the notice (stderr by default). */
  install(say: (line: string) => void = (l) => process.stderr.write(l + '\n')): this {
    for (const sig of ['SIGINT', 'SIGTERM'] as const) {
      const handler = () => {
        if (this.reason !== undefined) {
          say(`${sig} again: exiting without saving`);
          process.exit(130);
        }
        this.reason = sig;
        say(`${sig}: stopping after this step and saving a checkpoint (again to quit at once)`);
      };
      process.on(sig, handler);
      this.#handlers.push([sig, handler]);
    }
    return this;
  }

  /** Asks the loop to stop, as a signal would (for embedding and tests). */
  request(reason: StopReason): void {
    this.reason ??= reason;
  }

  uninstall(): void {
    for (const [sig, handler] of this.#handlers) process.off(sig, handler);
    this.#handlers.length = 0;
  }
}
