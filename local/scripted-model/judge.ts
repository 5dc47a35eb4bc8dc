/**
 * The scripted model as the guardrail tier's judge: recognise the judge's
 * requests (conversation `<runId>:<step>:guardrail`) and answer them with one
 * `report_verdicts` call, its verdicts computed by the test's own rule.
 */
import type { RecordedRequest, ScriptedTurn } from './types.js';

/** Whether a request is the classifier tier's judge call, not an agent's turn. */
export function isJudgeRequest(request: RecordedRequest): boolean {
  return request.conversation.endsWith(':guardrail');
}

/** The numbered texts a judge request carries, in order. */
export function judgedTexts(
  request: RecordedRequest,
): Array<{ index: number; source: string; text: string }> {
  const first = request.body.messages[0];
  const body = typeof first?.content === 'string' ? first.content : '';
  return [...body.matchAll(/<text index="(\d+)" source="(\w+)">\n([\s\S]*?)\n<\/text>/g)].map((m) => ({
    index: Number(m[1]),
    source: m[2] ?? '',
    text: m[3] ?? '',
  }));
}

/** The judge's answer: `injection(text)` decides each verdict. */
export function judgeTurn(request: RecordedRequest, injection: (text: string) => boolean): ScriptedTurn {
  const verdicts = judgedTexts(request).map((t) => {
    const hit = injection(t.text);
    return { index: t.index, injection: hit, categories: hit ? ['instruction_override'] : [] };
  });
  return { toolUses: [{ name: 'report_verdicts', input: { verdicts } }] };
}
