/**
 * What a run record and `GET /runs/{id}` keep of a failure's `Cause`: the
 * error's name and message. Step Functions passes a Lambda function error on
 * as the JSON text `{ errorType, errorMessage, trace|stackTrace }`; the stack
 * (server paths included) stays in the function's logs, never in the API.
 */
export function causeSummary(cause: string | undefined): string {
  if (!cause) return '';
  try {
    const parsed: unknown = JSON.parse(cause);
    if (typeof parsed === 'object' && parsed !== null) {
      const { errorType, errorMessage } = parsed as { errorType?: unknown; errorMessage?: unknown };
      if (typeof errorMessage === 'string')
        return typeof errorType === 'string' ? `${errorType}: ${errorMessage}` : errorMessage;
    }
  } catch {
    // Not JSON: a plain cause (a Fail state's, a timeout's) is kept, without any stack lines.
  }
  return cause
    .split('\n')
    .filter((line) => !/^\s+at\s/.test(line))
    .join('\n')
    .slice(0, 2000);
}
