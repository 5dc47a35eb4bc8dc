/**
 * How the interpreter calls Lambda functions. The glue maps function ARNs to
 * handler modules; the conformance runner plugs in fake behaviours.
 *
 * A failed outcome whose `errorType` starts with `Lambda.` is a service error
 * (e.g. `Lambda.ResourceNotFoundException`): its cause is `errorMessage` as is.
 * Any other failed outcome is a function error: the cause is the JSON text
 * `{"errorMessage","errorType","requestId","stackTrace"}` as AWS reports it.
 */
export type LambdaOutcome =
  | { ok: true; payload: unknown }
  | { ok: false; errorType: string; errorMessage: string; stackTrace?: string[] };

/** Invokes a Lambda function by ARN or name. */
export interface LambdaInvoker {
  invoke(
    functionArnOrName: string,
    payload: unknown,
    options: { signal: AbortSignal },
  ): Promise<LambdaOutcome>;
}

/** Resolves a function name, partial or full ARN to `arn:aws:lambda:<region>:<account>:function:<name>`. */
export function functionArn(nameOrArn: string, region: string, accountId: string): string {
  if (nameOrArn.startsWith('arn:')) return nameOrArn;
  const parts = nameOrArn.split(':');
  if (parts.length >= 3 && /^\d{12}$/.test(parts[0] ?? ''))
    return `arn:aws:lambda:${region}:${nameOrArn.replace(/^(\d{12}):function:/, '$1:function:')}`;
  return `arn:aws:lambda:${region}:${accountId}:function:${nameOrArn}`;
}

/** The outcome AWS reports when no function has that name. */
export function resourceNotFound(arn: string, requestId: string): LambdaOutcome {
  const qualified = /:function:[^:]+$/.test(arn) ? `${arn}:$LATEST` : arn;
  return {
    ok: false,
    errorType: 'Lambda.ResourceNotFoundException',
    errorMessage: `Function not found: ${qualified} (Service: AWSLambda; Status Code: 404; Error Code: ResourceNotFoundException; Request ID: ${requestId}; Proxy: null)`,
  };
}

/** A LambdaInvoker over a map of in-process handlers keyed by function name or ARN. */
export class MapLambdaInvoker implements LambdaInvoker {
  constructor(
    private readonly handlers: Record<
      string,
      (event: unknown, signal: AbortSignal) => Promise<unknown> | unknown
    >,
  ) {}

  async invoke(fn: string, payload: unknown, options: { signal: AbortSignal }): Promise<LambdaOutcome> {
    const name = fn.includes(':function:') ? ((fn.split(':function:')[1] ?? fn).split(':')[0] ?? fn) : fn;
    const handler = this.handlers[fn] ?? this.handlers[name];
    if (!handler)
      return resourceNotFound(
        fn.startsWith('arn:') ? fn : `arn:aws:lambda:us-east-1:000000000000:function:${fn}`,
        crypto.randomUUID(),
      );
    try {
      return { ok: true, payload: await handler(payload, options.signal) };
    } catch (err) {
      const e = err instanceof Error ? err : new Error(String(err));
      return {
        ok: false,
        errorType: e.name || 'Error',
        errorMessage: e.message,
        stackTrace: e.stack?.split('\n').slice(1) ?? [],
      };
    }
  }
}
