/**
 * `npm start`: boots the local stack in `.chaperone/` and runs the demo (one
 * invoice reconciliation over the HTTP API), or serves as a dev server.
 */
import { rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type Durability, DurabilityError, durabilityFromEnv } from '../durability.js';
import type { LocalStack } from '../runtime/stack.js';
import { loadScenario } from '../scripted-model/load-scenario.js';
import { type Answers, answersFrom } from './answers.js';
import { parseStartArgs, USAGE, UsageError } from './args.js';
import { DEMO_USER_AGENT, runDemo } from './demo.js';
import { demoScenario } from './demo-scenario.js';
import type { Writer } from './print.js';

/** The terminal the CLI reads approval answers from (process.stdin when run as `npm start`). */
export interface StartIo {
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  stdout: NodeJS.WritableStream;
}

/** Runs the CLI; resolves with the process exit code. */
export async function main(
  argv: readonly string[],
  write: Writer,
  env: Record<string, string | undefined> = process.env,
  io?: StartIo,
): Promise<number> {
  let args: ReturnType<typeof parseStartArgs>;
  let durability: Durability;
  try {
    args = parseStartArgs(argv);
    durability = durabilityFromEnv(env);
  } catch (err) {
    if (err instanceof UsageError || err instanceof DurabilityError) {
      write(`npm start: ${err.message}`);
      return 2;
    }
    throw err;
  }
  if (args.help) {
    write(USAGE);
    return 0;
  }
  const dataDir = resolve(args.dataDir);
  if (args.reset) {
    rmSync(dataDir, { recursive: true, force: true });
    write(`Reset: removed ${dataDir}`);
  }
  const model = env.ANTHROPIC_API_KEY ? 'anthropic' : 'scripted';
  write(
    `Starting the local stack in ${dataDir} (model: ${model === 'anthropic' ? 'Anthropic API, ANTHROPIC_API_KEY is set' : 'scripted model, no ANTHROPIC_API_KEY'})…`,
  );
  const { startLocalStack } = await import('../runtime/stack.js');
  const started = Date.now();
  const stack: LocalStack = await startLocalStack({
    dataDir,
    ...(args.port !== undefined ? { port: args.port } : {}),
    model,
    scenario: args.scenario ? await loadScenario(args.scenario) : demoScenario,
    env,
    durability,
    ...(args.verbose ? { handlerLogLevel: 'INFO' } : {}),
    ...(args.allowHost ? { allowedHostName: args.allowHost } : {}),
  });
  const stop = new AbortController();
  const onSignal = (): void => stop.abort(new Error('interrupted'));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let answers: Answers | undefined;
  try {
    write(
      `Ready in ${((Date.now() - started) / 1000).toFixed(1)} s: API ${stack.apiUrl} · Step Functions ${stack.sfnUrl} · DynamoDB ${stack.dynamoUrl}`,
    );
    write(`Outbox: ${stack.outboxDir}`);
    write(`Console: ${stack.apiUrl}/console`);
    const running = stack.sfn.listExecutions({ statusFilter: 'RUNNING' }).executions ?? [];
    if (running.length > 0) write(`Resumed ${running.length} running execution(s) from ${dataDir}.`);
    // Execution names are run ids; follow the newest instead of starting another run.
    const followRunId = running[0]?.name;
    stack.events.on('alert', (a) =>
      write(`  🔔 alert (SNS, in ${stack.alertsFile}): ${a.subject ?? ''} ${a.message.slice(0, 200)}`),
    );
    if (args.serve)
      stack.events.on('request', (r) => {
        // The demo's own polling (twice a second) would drown everything else.
        if (!args.verbose && r.userAgent === DEMO_USER_AGENT) return;
        write(`  ${r.method} ${r.path.split('?')[0]} → ${r.status} (${r.ms} ms)`);
      });
    if (args.verbose)
      stack.events.on('invoke', (r) => {
        if (!r.ok)
          write(
            `  ✗ ${r.functionName} failed: ${r.errorType}: ${r.errorMessage}${r.errorStack ? `\n${r.errorStack}` : ''}`,
          );
      });
    let code = 0;
    if (!args.noDemo) {
      write('');
      if (followRunId)
        write(`Following run ${followRunId}, left running by an earlier start (--reset starts afresh).`);
      if (io && !args.autoApprove) answers = answersFrom(io.stdin, io.stdout, onSignal);
      const run = await runDemo({
        stack,
        write,
        workflow: args.workflow,
        input: args.input,
        autoApprove: args.autoApprove,
        signal: stop.signal,
        ...(followRunId ? { followRunId } : {}),
        ...(answers ? { answers } : {}),
      });
      answers?.close();
      code = run.status === 'SUCCEEDED' ? 0 : 1;
      write('');
      write(
        `Lambda invocations: ${Object.entries(stack.invoker.invocationCounts())
          .map(([fn, n]) => `${fn} ${n}`)
          .join(', ')}`,
      );
      write(
        `Inspect it: curl ${stack.apiUrl}/runs/${run.runId}  ·  ${stack.apiUrl}/console#run/${run.runId}`,
      );
    }
    if (args.serve) {
      write('');
      write(
        `Serving. POST ${stack.apiUrl}/runs  ·  GET ${stack.apiUrl}/runs/{id}  ·  approvals at ${stack.apiUrl}/approvals/{id}`,
      );
      write(
        `Step Functions API: ${stack.sfnUrl} (region us-east-1, SigV4 with the key pair in ${stack.credentialsFile}). Ctrl-C stops; state stays in the data dir.`,
      );
      await new Promise<void>((done) => stop.signal.addEventListener('abort', () => done(), { once: true }));
      write('Stopped. Everything is kept in the data dir for the next npm start.');
    }
    return code;
  } catch (err) {
    if (stop.signal.aborted) {
      write('Interrupted. The run goes on from where it is at the next npm start (same --data-dir).');
      return 130;
    }
    throw err;
  } finally {
    answers?.close();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await stack.close();
  }
}

const isEntry =
  process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href;
if (isEntry) {
  // The SDK's notice about Node 22 (from 2027) is not news for a local demo.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  main(process.argv.slice(2), (line) => process.stdout.write(`${line}\n`), process.env, {
    stdin: process.stdin,
    stdout: process.stdout,
  }).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(
        `npm start failed: ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}\n`,
      );
      process.exit(1);
    },
  );
}
