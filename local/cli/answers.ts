/**
 * Lines typed (or piped) on standard input, for the demo's approval prompt.
 * Lines that arrive before a question is asked wait for it, so
 * `printf 'a\n' | npm start` answers the first approval. End of input means
 * "no answer from here": the run keeps waiting for its link.
 */
import { createInterface, type Interface } from 'node:readline';

/** A source of answer lines. */
export interface Answers {
  /** True for a terminal: a prompt is shown and the link can be opened in a browser. */
  readonly interactive: boolean;
  /**
   * The next line (trimmed), or undefined at the end of input or when `signal`
   * aborts (the question was answered some other way).
   */
  next(prompt: string, signal?: AbortSignal): Promise<string | undefined>;
  /** True once the input has ended and every line it gave was taken. */
  readonly ended: boolean;
  close(): void;
}

/** Reads answers from `input` (process.stdin in the CLI). */
export function answersFrom(
  input: NodeJS.ReadableStream & { isTTY?: boolean },
  output: NodeJS.WritableStream,
  onInterrupt: () => void,
): Answers {
  const interactive = input.isTTY === true;
  const rl: Interface = createInterface({ input, ...(interactive ? { output, terminal: true } : {}) });
  const queued: string[] = [];
  const waiting: Array<(line: string | undefined) => void> = [];
  let ended = false;
  rl.on('line', (line) => {
    const wake = waiting.shift();
    if (wake) wake(line.trim());
    else queued.push(line.trim());
  });
  rl.on('close', () => {
    ended = true;
    for (const wake of waiting.splice(0)) wake(undefined);
  });
  // A terminal's Ctrl-C reaches readline, not the process: pass it on.
  rl.on('SIGINT', onInterrupt);
  return {
    interactive,
    get ended() {
      return ended && queued.length === 0;
    },
    next(prompt, signal) {
      const line = queued.shift();
      if (line !== undefined) return Promise.resolve(line);
      if (ended || signal?.aborted) return Promise.resolve(undefined);
      if (interactive) {
        rl.setPrompt(prompt);
        rl.prompt();
      }
      return new Promise((resolve) => {
        const wake = (l: string | undefined): void => {
          signal?.removeEventListener('abort', onAbort);
          resolve(l);
        };
        const onAbort = (): void => {
          const i = waiting.indexOf(wake);
          if (i >= 0) waiting.splice(i, 1);
          if (interactive) output.write('\n');
          resolve(undefined);
        };
        waiting.push(wake);
        signal?.addEventListener('abort', onAbort, { once: true });
      });
    },
    close() {
      rl.close();
    },
  };
}
